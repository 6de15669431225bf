"""`syncgov deliver`: run each published export's drt sync, confirm every row at the target,
record the attempt (audit.sync_delivery_log, audit.sync_dead_letters) and move the watermark
only past what the target accepted."""

from __future__ import annotations

import os
from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.exports.delivery import (
    DELIVERED,
    EMPTY,
    TARGET_REJECTION,
    DeliveryOptions,
    DeliveryReport,
    deliver_exports,
)
from governance.exports.target_reconciliation import ReconcileOptions, reconcile_targets
from governance.warehouse import default_warehouse

MARK = {"delivered": "ok     ", "empty": "ok     ", "partial": "PARTIAL", "failed": "FAILED ",
        "blocked": "blocked", "dry_run": "dry-run"}
EXIT_COULD_NOT_RUN = 3


@click.command("deliver")
@click.option("--target-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="dbt artifacts (manifest.json: the export models' contracts)."
                   " [default: PROJECT_DIR/target]")
@click.option("--exports", "exports_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="What `syncgov export` wrote (its --out)."
                                 " [default: TARGET_DIR/exports]")
@click.option("--select", "select", multiple=True, metavar="EXPORT",
              help="Deliver only this export (repeatable). [default: every published export]")
@click.option("--project-dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=Path(), show_default=True, help="The dbt project.")
@click.option("--warehouse", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The DuckDB warehouse. [default: $SYNCGOV_WAREHOUSE or .warehouse/syncgov.duckdb]")
@click.option("--init-targets", is_flag=True,
              help="Create a missing target table from the export model's contract (primary key"
                   " on the match key) before delivering.")
@click.option("--dry-run", is_flag=True,
              help="Compute each window and check each target; send and record nothing.")
@handle_errors
def deliver_command(target_dir: Path | None, exports_dir: Path | None, select: tuple[str, ...],
                    project_dir: Path, warehouse: Path | None, init_targets: bool,
                    dry_run: bool) -> None:
    """Deliver every published export to its target and confirm it.

    Reads TARGET_DIR/exports/index.json and the manifests `syncgov export` wrote. For each
    publishable or warn export: the window is the rows changed since the last confirmed
    delivery plus pending dead letters; drt-core sends it to the PostgreSQL target named by
    SYNCGOV_<SYSTEM>_DSN; syncgov reads the target back and counts a row accepted only when
    the target holds it. The attempt is appended to audit.sync_delivery_log, rejected keys to
    audit.sync_dead_letters (re-sent next time, `dead` after the export's retries), and the
    watermark moves to the newest accepted row. A blocked export is not delivered.

    Exit codes: 0 every export delivered (or nothing to send), 1 rows rejected by a target or
    an export blocked, 2 unreadable input or bad usage, 3 a target could not be reached or its
    table is missing.
    """
    project = project_dir.resolve()
    target = target_dir if target_dir is not None else project / "target"
    report = deliver_exports(DeliveryOptions(
        warehouse=warehouse or default_warehouse(),
        exports_dir=exports_dir if exports_dir is not None else target / "exports",
        target_dir=target,
        select=select,
        dry_run=dry_run,
        init_targets=init_targets,
        environ=dict(os.environ),
    ))
    click.echo(format_report(report))
    statuses = {(o.status, o.cause) for o in report.outcomes}
    if any(s == "failed" and c != TARGET_REJECTION for s, c in statuses) or any(
            s == "dry_run" and c for s, c in statuses):
        raise SystemExit(EXIT_COULD_NOT_RUN)
    if any(s not in (DELIVERED, EMPTY, "dry_run") for s, _ in statuses):
        raise SystemExit(1)


def format_report(report: DeliveryReport) -> str:
    lines = []
    for o in report.outcomes:
        lines.append(f"{MARK.get(o.status, o.status)} {o.export_id:<34} -> {o.target:<30}"
                     f" {o.rows_sent:,} sent, {o.rows_accepted:,} accepted,"
                     f" {o.rows_rejected:,} rejected")
        if o.created_table:
            lines.append(f"          created table {o.target.split('.', 1)[1]}")
        if o.rows_deleted:
            lines.append(f"          {o.rows_deleted:,} tombstone(s) applied at the target")
        if o.rows_retried:
            lines.append(f"          {o.rows_retried:,} dead letter(s) re-sent")
        if o.cause:
            lines.append(f"          {o.cause}: {o.first_error}")
        if o.watermark_confirmed:
            lines.append(f"          confirmed through {o.watermark_confirmed.isoformat()}Z")
    verb = "would deliver (dry run)" if report.dry_run else "delivered"
    done = sum(o.status in (DELIVERED, EMPTY) for o in report.outcomes)
    lines.append(f"syncgov deliver: {verb} {done} of {len(report.outcomes)} export(s)")
    return "\n".join(lines)


@click.command("reconcile-targets")
@click.option("--exports", "exports_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="What `syncgov export` wrote. [default: target/exports]")
@click.option("--select", "select", multiple=True, metavar="EXPORT",
              help="Reconcile only this export (repeatable).")
@click.option("--warehouse", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The DuckDB warehouse. [default: $SYNCGOV_WAREHOUSE or .warehouse/syncgov.duckdb]")
@handle_errors
def reconcile_targets_command(exports_dir: Path | None, select: tuple[str, ...],
                              warehouse: Path | None) -> None:
    """Compare each delivered export's PostgreSQL target with its export model.

    As of the export's last confirmed delivery: row count, an order-independent checksum, then
    the differing keys (missing at the target, extra at the target, value mismatch), recorded
    in audit.sync_target_reconciliation and audit.sync_target_differences. Exit codes: 0 every
    target matches (or was never delivered), 1 a target drifted, 2 unreadable input, 3 a
    target could not be read.
    """
    results = reconcile_targets(ReconcileOptions(
        warehouse=warehouse or default_warehouse(),
        exports_dir=exports_dir if exports_dir is not None else Path("target") / "exports",
        select=select, environ=dict(os.environ)))
    for r in results:
        click.echo(f"{r.status:<13} {r.export_id:<34} {r.rows_source:,} rows in the model,"
                   f" {r.rows_target:,} at the target; {len(r.missing)} missing,"
                   f" {len(r.extra)} extra, {len(r.mismatched)} mismatched"
                   + (f" ({r.error})" if r.error else ""))
    if any(r.status == "unreachable" for r in results):
        raise SystemExit(EXIT_COULD_NOT_RUN)
    if any(r.status == "drifted" for r in results):
        raise SystemExit(1)


def register(main: click.Group) -> None:
    main.add_command(deliver_command)
    main.add_command(reconcile_targets_command)
