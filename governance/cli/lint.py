"""`syncgov lint`, `rules`, `explain` (the registry's rules and their findings) and `schedule`
(the freshness and build jobs its cadences need)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.cli.options import registry_option, today_option
from governance.errors import InputError, UsageError
from governance.formatters import FORMATTERS
from governance.lint import fails, lint, load_manifest, parse_project
from governance.rules import all_rules
from governance.schedule import FORMATS as SCHEDULE_FORMATS
from governance.schedule import render as render_schedule


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text)
    except OSError as exc:
        raise InputError(f"{output}: cannot write ({exc.strerror})") from exc


@click.command("lint")
@registry_option
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATTERS)), default="text",
              show_default=True, help="text for people, github for PR annotations, sarif for code scanning,"
                   " junit for CI dashboards, json for tools.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report here instead of standard output.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "never"]), default="error",
              show_default=True, help="Exit 1 when a finding is at least this severe.")
@today_option
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="dbt project whose target/manifest.json is checked against the registry"
                   " (skipped when it has not been parsed or built). [default: the registry's"
                   " parent directory]")
@click.option("--dbt-parse", "dbt_parse", is_flag=True,
              help="Run `dbt parse` in the project first, so the dbt rules always see a current"
                   " manifest (CI does this; a failed parse exits 2 with dbt's log).")
@handle_errors
def lint_command(registry_dir: Path, fmt: str, output: Path | None, fail_on: str,
                 today: date | None, project_dir: Path | None, dbt_parse: bool) -> None:
    """Check the registry: ownership, review dates, cadence against SLO, direction of flows
    and exports, classification against clearance, references — and, when
    target/manifest.json exists, the dbt project against the registry.

    Exit codes: 0 clean (or nothing at --fail-on), 1 findings at or above --fail-on,
    2 unreadable registry or bad usage. `syncgov rules` lists the rules; `syncgov explain ID`
    says why one exists and how to fix its findings.
    """
    project = project_dir if project_dir is not None else registry_dir.resolve().parent
    if dbt_parse:
        parse_project(project)
    findings = lint(registry_dir, today=today, manifest=load_manifest(project))
    _emit(FORMATTERS[fmt](findings), output)
    if fails(findings, fail_on):
        raise SystemExit(1)


@click.command("rules")
def rules_command() -> None:
    """List every lint rule: id, severity, summary."""
    for r in all_rules():
        click.echo(f"{r.rule_id}  {r.severity.value:<7}  {r.summary}")


@click.command("explain")
@click.argument("rule_id")
@handle_errors
def explain_command(rule_id: str) -> None:
    """Explain a rule: why it exists and how to fix a finding."""
    rules = {r.rule_id: r for r in all_rules()}
    rule = rules.get(rule_id.upper())
    if rule is None:
        raise UsageError(f"unknown rule {rule_id!r}; `syncgov rules` lists them")
    click.echo(f"{rule.rule_id} ({rule.severity.value}): {rule.summary}\n\n{rule.doc}")


@click.command("schedule")
@click.option("--format", "fmt", type=click.Choice(SCHEDULE_FORMATS), default="json",
              show_default=True, help="json for tools, crontab for a server, github-actions for a"
                                      " scheduled workflow, airflow for a DAG file.")
@registry_option
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The dbt project the jobs run in. [default: the registry's parent]")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the schedule here instead of standard output.")
@today_option
@handle_errors
def schedule_command(fmt: str, registry_dir: Path, project_dir: Path | None,
                     output: Path | None, today: date | None) -> None:
    """One job per cadence, each one `syncgov run --cadence JOB` cycle: freshness and build of
    the domains sharing that cadence, the export gate, the status snapshot. The cycles queue
    on the warehouse lock, so jobs that fall on the same minute run one after the other.

    Tests by cost: a cadence's cycle runs its tests over the delta only (the rows staged,
    applied or classified since its last clean build) and leaves the tests tagged full_table
    and dbt's unit tests (which check the SQL, not the data) out; one more job,
    full_table_tests (nightly, 01:30 UTC), runs every test over its whole table on the same
    lock. The export gate blocks an export whose guarding tests have no
    passing full-table result from the last 26 hours.

    Real-time domains get a per-minute job (every 5 minutes on GitHub Actions, its shortest
    schedule). Refuses to render (exit 2) while the registry has lint errors or a value that
    cannot safely reach a command line; every value is validated and shell-quoted, and the
    Airflow DAG calls syncgov with an argument list, never through a shell.
    """
    project = project_dir if project_dir is not None else registry_dir.resolve().parent
    _emit(render_schedule(registry_dir, fmt, project.resolve(), today=today), output)


def register(main: click.Group) -> None:
    for command in (lint_command, rules_command, explain_command, schedule_command):
        main.add_command(command)
