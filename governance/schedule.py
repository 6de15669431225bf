"""Schedules derived from the registry: one job per cadence, each calling `syncgov run`.

Domains that share a cadence share a job. A job is one operating cycle (`syncgov run
--cadence JOB`): `dbt source freshness` on the landing tables of its domains (the flows'
`source.` nodes), `dbt build` of everything downstream of them, the export gate and the
operator artifacts — serialised with every other job by the warehouse lock, so overlapping
cadences queue instead of colliding. Rendered for cron, GitHub Actions and Airflow.

Tests by cost (issue 18): a sync job's tests read the delta since its last clean build
(governance/operate/delta_scope.py) and skip those tagged `full_table`; one more job,
`full_table_tests`, runs every test over its whole table once a night (`dbt test`, unscoped)
on the same lock, and the export gate requires its passing results to be recent.

Every registry value that reaches a command line is validated first (cron expressions
through croniter, source names and job names by a full pattern) and shell-quoted; the
Airflow DAG passes arguments as a list and never goes through a shell.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import yaml
from croniter import croniter

from governance.errors import InputError
from governance.exports.artifacts import DELTA_CYCLE_EXCLUDES
from governance.lint import lint
from governance.registry import RegistryFile, load_registry
from governance.registry.model import STREAMING, model_of

# Streaming domains are loaded continuously by their connector; the scheduler only checks
# freshness and applies the landed events, as often as it can.
STREAMING_CRON = "* * * * *"
# GitHub Actions runs scheduled workflows at most every five minutes.
GITHUB_MIN_CRON = "*/5 * * * *"
# How long a scheduled cycle queues behind another one for the warehouse lock.
WAIT_SECONDS = 600
# What may reach a command line (checked with re.fullmatch: `$` would accept a newline).
SOURCE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*")
JOB_NAME = re.compile(r"[a-z][a-z0-9_]*")
CRON_FIELD = re.compile(r"[0-9*/,\-A-Za-z]+")
# The nightly full-table job: every test over its whole table. Off the hour, when no sync job
# of the demo registry starts; the lock serialises it with any that does.
FULL_TESTS_JOB = "full_table_tests"
FULL_TESTS_CRON = "30 1 * * *"
FULL_TESTS_COMMAND = "dbt test"
SYNC, FULL_TESTS = "sync", "full_tests"


@dataclass(frozen=True)
class Job:
    name: str
    cadence: str
    cron: str
    domains: tuple[str, ...]
    sources: tuple[str, ...]
    kind: str = SYNC  # sync: freshness, build (delta-scoped tests), gate; full_tests: nightly

    @property
    def freshness_command(self) -> str:
        return "dbt source freshness --select " + " ".join(f"source:{s}" for s in self.sources)

    @property
    def build_command(self) -> str:
        return "dbt build --select " + " ".join(f"source:{s}+" for s in self.sources)

    @property
    def dbt_commands(self) -> list[str]:
        if self.kind == FULL_TESTS:
            return [FULL_TESTS_COMMAND]
        # the tests read the delta since the job's last clean build (SYNCGOV_DELTA_SINCE);
        # those tagged full_table, and the unit tests, wait for the nightly job
        return [self.freshness_command, " ".join((self.build_command, *DELTA_CYCLE_EXCLUDES))]

    def run_args(self, wait: int = WAIT_SECONDS) -> list[str]:
        """The `syncgov run` arguments of this job (after the executable)."""
        return ["run", "--cadence", self.name, "--wait", str(wait), "--quiet"]


def validate(job: Job) -> Job:
    """Raise InputError unless every value of the job is safe on a command line."""
    problems = []
    if not JOB_NAME.fullmatch(job.name):
        problems.append(f"job name {job.name!r} (domains {', '.join(map(repr, job.domains))})")
    fields = job.cron.split(" ")
    if len(fields) != 5 or not all(CRON_FIELD.fullmatch(f) for f in fields) \
            or not croniter.is_valid(job.cron):
        problems.append(f"cron {job.cron!r}")
    problems += [f"dbt source {s!r}" for s in job.sources if not SOURCE_NAME.fullmatch(s)]
    if problems:
        raise InputError(f"the registry gives job {job.name!r} values that cannot reach a"
                         f" command line: {'; '.join(problems)}")
    return job


def plan(registry: dict[str, RegistryFile]) -> list[Job]:
    """One job per distinct cadence, with the landing sources of its domains."""
    sources: dict[str, set[str]] = {}
    for flow in model_of(registry).flows.values():
        for node in flow.dbt_nodes:
            parts = node.split(".")
            if parts[0] == "source" and len(parts) == 4:
                sources.setdefault(flow.domain, set()).add(f"{parts[2]}.{parts[3]}")
    by_cadence: dict[str, list[str]] = {}
    for name, domain in sorted(registry["domains"].data["domains"].items()):
        if sources.get(name):
            by_cadence.setdefault(domain["cadence"], []).append(name)
    jobs = []
    for cadence, domains in by_cadence.items():
        jobs.append(Job(
            name="sync_" + "_".join(domains),
            cadence=cadence,
            cron=STREAMING_CRON if cadence in STREAMING else cadence,
            domains=tuple(domains),
            sources=tuple(sorted(set().union(*(sources[d] for d in domains)))),
        ))
    return sorted(jobs, key=lambda j: j.name)


def full_tests_job() -> Job:
    """The nightly job: every test of the project over its whole table."""
    return Job(name=FULL_TESTS_JOB, cadence="nightly", cron=FULL_TESTS_CRON, domains=(),
               sources=(), kind=FULL_TESTS)


def scheduled_jobs(registry: dict[str, RegistryFile]) -> list[Job]:
    """Every job a scheduler runs: one per cadence, then the nightly full-table tests."""
    return [*plan(registry), full_tests_job()]


def _describe(job: Job) -> str:
    if job.kind == FULL_TESTS:
        return "every test over its whole table (nightly)"
    return f"{', '.join(job.domains)} ({job.cadence})"


def syncgov_executable() -> str:
    candidate = Path(sys.executable).with_name("syncgov")
    return str(candidate) if candidate.exists() else "syncgov"


def render_json(jobs: list[Job]) -> str:
    return json.dumps([{**asdict(j), "streaming": j.cadence in STREAMING,
                        "commands": [shlex.join(["syncgov", *j.run_args()])],
                        "dbt_commands": j.dbt_commands} for j in jobs],
                      indent=2) + "\n"


def render_crontab(jobs: list[Job], project_dir: Path) -> str:
    project = shlex.quote(str(project_dir))
    syncgov = shlex.quote(syncgov_executable())
    bin_dir = Path(syncgov_executable()).parent if Path(syncgov_executable()).is_absolute() \
        else None
    lines = ["# Generated by `syncgov schedule --format crontab` from registry/; do not edit.",
             "# One cycle per cadence (`syncgov run`): freshness, build, export gate, status;",
             "# its tests read the delta. full_table_tests runs every test over its whole table.",
             "# Overlapping cycles queue on the warehouse lock (--wait) instead of colliding.",
             "DBT_PROFILES_DIR=" + project]
    if bin_dir is not None:
        lines.append(f"PATH={shlex.quote(str(bin_dir))}:/usr/local/bin:/usr/bin:/bin")
    lines.append("")
    for job in jobs:
        args = " ".join(shlex.quote(a) for a in job.run_args())
        log = shlex.quote(f"logs/{job.name}.log")
        lines.append(f"# {job.name}: {_describe(job)}")
        # cron gives % a meaning of its own: none can appear (validated), so none is escaped
        lines.append(f"{job.cron} cd {project} && mkdir -p logs && {syncgov} {args}"
                     f" >> {log} 2>&1")
    return "\n".join(lines) + "\n"


def _github_cron(job: Job) -> str:
    return GITHUB_MIN_CRON if job.cron == STREAMING_CRON else job.cron


def render_github_actions(jobs: list[Job]) -> str:
    crons = sorted({_github_cron(j) for j in jobs})
    workflow: dict = {
        "name": "syncgov schedules",
        "on": {"schedule": [{"cron": c} for c in crons], "workflow_dispatch": None},
        "permissions": {"contents": "read"},
        # one group for every job: cycles on one warehouse run one at a time, none cancelled
        "concurrency": {"group": "syncgov-warehouse", "cancel-in-progress": False},
        "env": {
            "DBT_PROFILES_DIR": "${{ github.workspace }}",
            "SYNCGOV_TARGET": "${{ vars.SYNCGOV_TARGET || 'snowflake' }}",
            "SNOWFLAKE_ACCOUNT": "${{ secrets.SNOWFLAKE_ACCOUNT }}",
            "SNOWFLAKE_USER": "${{ secrets.SNOWFLAKE_USER }}",
            "SNOWFLAKE_PASSWORD": "${{ secrets.SNOWFLAKE_PASSWORD }}",
            "SNOWFLAKE_ROLE": "${{ vars.SNOWFLAKE_ROLE }}",
            "SNOWFLAKE_WAREHOUSE": "${{ vars.SNOWFLAKE_WAREHOUSE }}",
            "SNOWFLAKE_DATABASE": "${{ vars.SNOWFLAKE_DATABASE }}",
        },
        "jobs": {},
    }
    previous: str | None = None
    for job in jobs:
        note = " (streamed; checked every 5 minutes, GitHub's shortest schedule)" \
            if job.cron == STREAMING_CRON else ""
        # within one run the jobs go one after the other (a dispatch runs them all); a job
        # whose predecessor was skipped or failed still runs
        chain = {"needs": previous} if previous else {}
        workflow["jobs"][job.name] = {
            "name": (f"{', '.join(job.domains)}: {job.cadence}{note}" if job.kind == SYNC
                     else f"full-table tests: {job.cadence}"),
            **chain,
            "if": ("${{ !cancelled() && (github.event_name == 'workflow_dispatch' || "
                   f"github.event.schedule == '{_github_cron(job)}') }}}}"),
            "runs-on": "ubuntu-latest",
            "timeout-minutes": 30,
            "steps": [
                {"uses": "actions/checkout@v4"},
                {"uses": "actions/setup-python@v5", "with": {"python-version": "3.11"}},
                {"run": "python -m pip install uv && uv sync --frozen"},
                {"name": "One syncgov cycle",
                 "run": shlex.join([".venv/bin/syncgov", *job.run_args()])},
            ],
        }
        previous = job.name
    header = ("# Generated by `syncgov schedule --format github-actions` from registry/; do not"
              " edit.\n")
    return header + yaml.safe_dump(workflow, sort_keys=False, width=120)


AIRFLOW_DAG = '''\
# Generated by `syncgov schedule --format airflow` from registry/; do not edit.
"""syncgov: one DAG per cadence, each task one `syncgov run` cycle, and one nightly DAG of the
full-table tests. The cycles serialise on the warehouse lock; max_active_runs=1 keeps a slow
cycle from piling up behind itself."""

import subprocess
from datetime import datetime

from airflow.exceptions import AirflowException
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

PROJECT_DIR = {project!r}
SYNCGOV = {syncgov!r}
JOBS = {jobs!r}


def run_cycle(args):
    # a list of arguments, never a shell: no value can be read as a command
    done = subprocess.run([SYNCGOV, *args], cwd=PROJECT_DIR, check=False)
    if done.returncode == 1:
        print("syncgov run: findings (a blocked export, a stale source or a paging domain)")
    elif done.returncode != 0:
        raise AirflowException(f"syncgov run exited {{done.returncode}}")


for job in JOBS:
    with DAG(
        dag_id="syncgov_" + job["name"],
        description=job["description"],
        schedule=job["cron"],
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=["syncgov"],
    ) as dag:
        PythonOperator(task_id="syncgov_run", python_callable=run_cycle, op_args=[job["args"]])
    globals()[dag.dag_id] = dag
'''


def render_airflow(jobs: list[Job], project_dir: Path) -> str:
    data = [{"name": j.name, "cron": j.cron, "args": j.run_args(),
             "description": _describe(j)} for j in jobs]
    return AIRFLOW_DAG.format(project=str(project_dir), syncgov=syncgov_executable(), jobs=data)


FORMATS = ("json", "crontab", "github-actions", "airflow")


def render(registry_dir: Path, fmt: str, project_dir: Path, *, today: date | None = None) -> str:
    """The schedule of the registry in `fmt` (one of FORMATS). Raises InputError when the
    registry has lint errors or a value that cannot reach a command line."""
    errors = [f for f in lint(registry_dir, today=today or date.today())
              if f.severity.value == "error"]
    if errors:
        first = errors[0]
        raise InputError(f"the registry has {len(errors)} lint error(s), e.g. {first.rule_id}"
                         f" {first.path}:{first.line}: {first.message}; no schedule is rendered"
                         " until `syncgov lint` is clean")
    jobs = [validate(j) for j in scheduled_jobs(load_registry(registry_dir))]
    if fmt == "json":
        return render_json(jobs)
    if fmt == "crontab":
        return render_crontab(jobs, project_dir)
    if fmt == "airflow":
        return render_airflow(jobs, project_dir)
    return render_github_actions(jobs)
