"""`syncgov run`: one operating cycle, the command a scheduler calls per cadence."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.cli.options import (
    registry_option,
    resolve_warehouse,
    target_option,
    today_option,
    warehouse_option,
)
from governance.cli.simulate import Timestamp
from governance.errors import CouldNotRun
from governance.operate.cycle import CycleOptions, CycleResult, Selection, run_cycle


@click.command("run")
@click.option("--cadence", default=None, metavar="NAME",
              help="Run this job of `syncgov schedule` (e.g. sync_customer) or every job of this"
                   " cadence (e.g. '*/15 * * * *'); full_table_tests is the nightly job that"
                   " runs every test over its whole table.")
@click.option("--domain", default=None,
              help="Run the job that holds this domain (with the domains sharing its cadence).")
@click.option("--wait", "wait", type=click.FloatRange(min=0), default=600.0, show_default=True,
              metavar="SECONDS", help="Queue this long for the warehouse lock while another"
                                      " cycle holds it, then give up (exit 3).")
@warehouse_option
@target_option
@registry_option
@click.option("--project-dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=Path(), show_default=True, help="The dbt project.")
@click.option("--published", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the status snapshot, metrics textfile and report go."
                   " [default: published/ beside the warehouse]")
@click.option("--target-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where each cycle's own dbt target path goes (one folder per cycle, the"
                   " latest 20 kept). [default: PROJECT_DIR/target/cycles]")
@click.option("--now", type=Timestamp(), default=None,
              help="Judge freshness and due jobs as of this moment (ISO 8601). [default: now]")
@today_option
@click.option("-q", "--quiet", is_flag=True, help="Only the one-line summary per step.")
@click.option("--loop", is_flag=True,
              help="Stay up: run cycles back to back (the selected cadence each time, or the jobs"
                   " due each minute) in one process, with dbt in-process on a manifest parsed"
                   " once (again only when the project changes). A failed cycle is recorded and"
                   " the loop goes on; SIGTERM lets the current cycle finish, then exits 0.")
@click.option("--deliver", is_flag=True,
              help="After the gate, deliver the published batches to their targets with drt and"
                   " confirm them there (as `syncgov deliver`; each target's DSN in"
                   " SYNCGOV_<SYSTEM>_DSN). A rejected row or an unreachable target is a finding.")
@click.option("--max-cycles", type=click.IntRange(min=1), default=None, hidden=True,
              help="With --loop: stop after this many cycles (tests, benchmarks).")
@handle_errors
def run_command(cadence: str | None, domain: str | None, wait: float, warehouse: Path | None,
                target: str | None, registry_dir: Path, project_dir: Path, published: Path | None,
                target_root: Path | None, now, today, quiet: bool, loop: bool,
                deliver: bool, max_cycles: int | None) -> None:
    """Run one cycle: take the warehouse lock (queueing up to --wait behind another cycle),
    check `dbt source freshness` of the selection, `dbt build` it, gate and publish the exports
    that depend on it (with --deliver, send them and confirm them at the target), write the
    status snapshot, the metrics textfile and the report, and release the lock.

    Tests by cost: the build's tests read only the delta — the rows staged, applied or
    classified since the job's last clean build began (a failed build does not move that
    point) — and the tests tagged full_table, and dbt's unit tests, are left out; with no clean build on record the
    cycle is a full check. `--cadence full_table_tests` (nightly in `syncgov schedule`) takes
    the same lock and runs `dbt test` of every test over its whole table (unit tests too); the export gate
    blocks an export whose guarding tests have no passing full-table result from the last 26
    hours.

    Select with --cadence or --domain; with neither, every job whose cron is due this minute
    runs (what a per-minute cron entry or a loop wants). Each cycle uses its own dbt target
    path (target/cycles/CYCLE), so overlapping cycles never mix their artifacts. The audit log
    (audit.sync_cycle_log) gets an intent row before dbt starts and the outcome after; a cycle
    that died part-way shows in `syncgov status` until a later cycle completes.

    --target runs the cycle on that dbt target's warehouse (DuckDB or Snowflake): dbt builds
    it and every read and audit write goes to it. On Snowflake the lock file, published/ and
    logs live in .warehouse/TARGET/ on the machine that runs the cycles; --deliver is DuckDB
    only (docs/snowflake.md).

    Exit codes: 0 ok, 1 findings (a blocked export, a stale source, a failed test, a paging
    domain), 2 unusable input, 3 could not run (lock timeout, dbt failed to run).
    """
    def say(message: str) -> None:
        if not quiet:
            click.echo(f"syncgov run: {message}", err=True)

    options = CycleOptions(
        project_dir=project_dir, registry_dir=registry_dir,
        warehouse=resolve_warehouse(warehouse, target, project_dir), selection=Selection(cadence, domain),
        wait_seconds=wait, now=now, today=today, published=published, target_root=target_root,
        deliver=deliver)
    if loop:
        _loop(options, say, max_cycles)
        return
    try:
        result = run_cycle(options, progress=say)
    except CouldNotRun as exc:
        click.echo(f"syncgov run: could not run: {exc}", err=True)
        raise SystemExit(exc.exit_code) from None
    for note in result.notes:
        click.echo(f"syncgov run: note: {note}", err=True)
    for step in result.steps:
        click.echo(f"{'ok  ' if step.ok else 'FIND'} {step.name:<10} {step.summary}")
    if result.exports:
        for outcome in result.exports.outcomes:
            reason = f" — {outcome.reasons[0].message}" if outcome.verdict == "blocked" \
                and outcome.reasons else ""
            click.echo(f"     export     {outcome.export_id}: {outcome.verdict}{reason}")
    click.echo(result.summary)
    raise SystemExit(result.exit_code)


def _loop(options: CycleOptions, say, max_cycles: int | None) -> None:
    # dbt in-process costs a second or two to import: only the loop pays for it
    from governance.operate.loop import run_loop  # noqa: PLC0415

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def report(result: CycleResult | None, error: Exception | None) -> None:
        click.echo(result.summary if result else f"cycle failed: {error}")

    state = run_loop(options, stop, progress=say, max_cycles=max_cycles, on_cycle=report)
    click.echo(f"syncgov run --loop: stopped after {state.cycles} cycle(s),"
               f" {state.failed} failed", err=True)


def register(main: click.Group) -> None:
    main.add_command(run_command)
