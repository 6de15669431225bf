"""Schedules that call `syncgov run` and are safe: the Airflow DAG loads in a real DagBag with
one schedule per cadence; no registry value crafted to run a command ever reaches a shell, and
the schedule is not rendered while the registry has lint errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from governance.errors import InputError
from governance.registry import load_registry
from governance.schedule import Job, render, scheduled_jobs, validate

REPO = Path(__file__).resolve().parents[3]
REGISTRY = REPO / "registry"
SYNCGOV = Path(sys.executable).with_name("syncgov")

DAGBAG_PROBE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dags": {d: {"cron": getattr(dag.timetable, "expression", None),
                 "tasks": [t.task_id for t in dag.tasks],
                 "max_active_runs": dag.max_active_runs}
             for d, dag in bag.dags.items()},
}))
"""


def test_the_airflow_dag_loads_in_a_real_dagbag(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "syncgov_schedule.py").write_text(render(REGISTRY, "airflow", REPO))
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    out = subprocess.run([sys.executable, "-c", DAGBAG_PROBE, str(dags)], env=env,
                         capture_output=True, text=True, check=False, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["errors"] == {}
    expected = {f"syncgov_{j.name}": j.cron for j in scheduled_jobs(load_registry(REGISTRY))}
    assert expected["syncgov_full_table_tests"] == "30 1 * * *", "the nightly DAG is there too"
    assert {d: v["cron"] for d, v in found["dags"].items()} == expected
    assert {v["max_active_runs"] for v in found["dags"].values()} == {1}
    assert {tuple(v["tasks"]) for v in found["dags"].values()} == {("syncgov_run",)}


def _registry(tmp_path: Path, old: str, new: str, file: str = "domains.yml") -> Path:
    registry = tmp_path / "registry"
    shutil.copytree(REGISTRY, registry)
    path = registry / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    return registry


MALICIOUS = {
    "cadence": ('cadence: "*/15 * * * *"', 'cadence: "*/15 * * * * ; touch {marker}"',
                "domains.yml"),
    "cadence_newline": ('cadence: "*/15 * * * *"', 'cadence: "*/15 * * * *\\ntouch {marker}"',
                        "domains.yml"),
    # a declared dbt node (landing flows derive theirs from the validated `landing` block)
    "dbt_node": ("      - model.syncgov.exp_helpdesk__customers",
                 "      - source.syncgov.crm.accounts$(touch {marker})\n"
                 "      - model.syncgov.exp_helpdesk__customers",
                 "flows.yml"),
}


@pytest.mark.parametrize("fmt", ["crontab", "github-actions", "airflow", "json"])
@pytest.mark.parametrize("case", sorted(MALICIOUS))
def test_a_malicious_registry_value_never_executes(case: str, fmt: str, tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    old, new, file = MALICIOUS[case]
    registry = _registry(tmp_path, old, new.format(marker=marker), file)
    out = subprocess.run([str(SYNCGOV), "schedule", "--registry", str(registry), "--format", fmt,
                          "--project-dir", str(tmp_path)], capture_output=True, text=True,
                         check=False, cwd=tmp_path, timeout=120)
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stdout == ""
    assert "Traceback" not in out.stderr
    # whatever was printed, run it the way cron would: nothing may create the marker
    subprocess.run(["sh", "-c", out.stdout + out.stderr], check=False, cwd=tmp_path,
                   capture_output=True, timeout=30)
    assert not marker.exists()


def test_validation_uses_full_matches() -> None:
    good = Job("sync_customer", "*/15 * * * *", "*/15 * * * *", ("customer",), ("crm.accounts",))
    assert validate(good) is good
    for bad in (Job("sync_customer\n", good.cadence, good.cron, good.domains, good.sources),
                Job(good.name, good.cadence, good.cron, good.domains, ("crm.accounts\n",)),
                Job(good.name, good.cadence, "*/15 * * * *\n", good.domains, good.sources),
                Job(good.name, good.cadence, "*/15 * * * * %", good.domains, good.sources),
                Job(good.name, good.cadence, good.cron, good.domains, ("--vars={}",))):
        with pytest.raises(InputError):
            validate(bad)


def test_a_shell_quoted_project_dir_is_never_expanded(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    project = tmp_path / f"$(touch {marker})"
    lines = render(REGISTRY, "crontab", project).splitlines()
    entry = next(line for line in lines if " run --cadence sync_customer " in line)
    command = entry.split(" ", 5)[5]  # after the five cron fields
    subprocess.run(["sh", "-c", command], check=False, cwd=tmp_path, capture_output=True,
                   timeout=30)  # `cd` fails: the directory does not exist
    assert not marker.exists()


def test_schedule_refuses_to_render_while_the_registry_has_lint_errors(tmp_path: Path) -> None:
    registry = _registry(tmp_path, "slo_minutes: 60", "slo_minutes: 1")  # cadence can't meet it
    with pytest.raises(InputError, match="lint error"):
        render(registry, "crontab", tmp_path)
