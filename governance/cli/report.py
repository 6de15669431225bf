"""`syncgov report`: the self-contained HTML health report."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.cli.options import (
    project_dir_option,
    read_wait_option,
    registry_option,
    resolve_warehouse,
    target_option,
    today_option,
    warehouse_option,
)
from governance.lint import load_manifest
from governance.published import now_utc, read_view
from governance.registry import load_registry
from governance.report import build_report, write_report


@click.command("report")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("target") / "syncgov-report.html", show_default=True,
              help="The HTML file to write (atomically).")
@warehouse_option
@target_option
@registry_option
@project_dir_option
@today_option
@read_wait_option
@handle_errors
def report_command(out: Path, warehouse: Path | None, target: str | None, registry_dir: Path,
                   project_dir: Path,
                   today: date | None, wait: float | None) -> None:
    """Write the sync health report: one self-contained HTML file (inline CSS and SVG, no
    script, nothing fetched when it is opened) for stakeholders and on-call.

    It shows a status board per domain with owners and escalation contacts, SLO attainment
    and error-budget burn over 7 and 30 days, propagation latency over time, what each
    unhealthy domain puts at risk (exports, dbt exposures, downstream models — from
    target/manifest.json when present), export gates with their reasons, reconciliation,
    drift, open conflicts, quarantine by reason and the review calendar. It reads the DuckDB
    file, or the warehouse of the dbt target --target names (DuckDB or Snowflake).
    While a cycle holds the warehouse it reports from the last published snapshot (and says
    how old it is); --wait reads live. Exit 2 when the warehouse or registry cannot be read.
    """
    registry = load_registry(registry_dir)
    view = read_view(resolve_warehouse(warehouse, target, project_dir), wait=wait)
    if (note := view.note(now_utc())) is not None:
        click.echo(f"syncgov report: {note}", err=True)
    html = build_report(view.snapshot, registry,
                        load_manifest(project_dir), today=today)
    click.echo(str(write_report(html, out)))


def register(main: click.Group) -> None:
    main.add_command(report_command)
