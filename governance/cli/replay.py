"""`syncgov replay`: re-process a domain from a batch or a moment in time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.cli.options import resolve_warehouse, target_option, warehouse_option
from governance.cli.simulate import Timestamp
from governance.errors import CouldNotRun, UsageError
from governance.operate.cycle import run_replay_cycle
from governance.replay import plan_replay


@click.command("replay")
@click.option("--domain", required=True, help="Domain to replay, e.g. customer.")
@click.option("--from-batch", "from_batch", default=None, metavar="BATCH_ID",
              help="Replay everything loaded since this batch started (a ledger batch id).")
@click.option("--since", type=Timestamp(), default=None,
              help="Replay everything loaded since this moment (UTC, ISO 8601).")
@click.option("--dry-run", is_flag=True, help="Show what would be re-processed; change nothing.")
@click.option("--project-dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=Path(), show_default=True, help="The dbt project.")
@warehouse_option
@target_option
@click.option("--wait", "wait", type=click.FloatRange(min=0), default=600.0, show_default=True,
              metavar="SECONDS", help="Queue this long for the warehouse lock while a cycle"
                                      " holds it, then give up (exit 3).")
@click.option("--now", type=Timestamp(), default=None, hidden=True,
              help="The present, for judging --since (tests). [default: the clock]")
@handle_errors
def replay_command(domain: str, from_batch: str | None, since: datetime | None, dry_run: bool,
                   project_dir: Path, warehouse: Path | None, target: str | None, wait: float,
                   now: datetime | None) -> None:
    """Re-stage and re-apply a domain from a batch or a moment, then say what changed.

    Runs `dbt build` over the domain's staging models and everything downstream with
    var `sync_replay_from`: events loaded since then are staged again under the current rules
    and every key they touch is rebuilt from its whole history, so the state afterwards equals
    a full refresh. The replay is recorded in the audit log with its vars.

    It takes the warehouse lock like `syncgov run` (queueing up to --wait) and records its
    intent in audit.sync_cycle_log before dbt starts; a replay that dies part-way shows in
    `syncgov status` until it is re-run. --since with an offset is converted to UTC; naive
    values are UTC. Exit codes: 0 done, 1 dbt failed, 2 bad input (unknown domain or batch,
    a --since in the future, a missing, locked or unreadable warehouse), 3 lock timeout or a
    Snowflake target that cannot be reached. --target replays on that dbt target's warehouse
    (DuckDB or Snowflake).
    """
    wh = resolve_warehouse(warehouse, target, project_dir)
    since_utc = since.astimezone(UTC).replace(tzinfo=None) if since else None
    present = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    if since_utc is not None and since_utc > present:
        raise UsageError(f"--since {since_utc.isoformat(sep=' ')} UTC is in the future"
                         f" (now {present.isoformat(sep=' ', timespec='seconds')} UTC)")
    plan = plan_replay(project_dir.resolve(), wh, domain, from_batch=from_batch, since=since_utc)
    click.echo(f"replay {plan.domain} since {plan.since.isoformat(sep=' ')} UTC"
               + (f" (batch {plan.from_batch})" if plan.from_batch else ""))
    for table, rows in plan.rows_to_reprocess.items():
        click.echo(f"  landing.{table}: {rows:,} rows to re-process")
    click.echo(f"  {plan.batches} batches; dbt build --select {' '.join(plan.selection)}")
    if dry_run:
        click.echo("dry run: nothing changed")
        return
    try:
        result = run_replay_cycle(plan, project_dir, wh, wait_seconds=wait)
    except CouldNotRun as exc:
        click.echo(f"syncgov replay: could not run: {exc}", err=True)
        raise SystemExit(exc.exit_code) from None
    click.echo(f"replayed in {result.seconds:.1f}s; state changes:")
    for change in result.changes:
        click.echo(f"  {change.model:<28} {change.added:>6} added {change.changed:>6} changed"
                   f" {change.removed:>6} removed")


def register(main: click.Group) -> None:
    main.add_command(replay_command)
