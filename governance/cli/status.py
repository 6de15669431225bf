"""`syncgov status`: every domain and flow, its status and why, for people and schedulers."""

from __future__ import annotations

import json
from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.cli.options import (
    read_wait_option,
    registry_option,
    resolve_warehouse,
    target_option,
    warehouse_option,
)
from governance.cli.terminal import console
from governance.exports import outbound_health
from governance.published import now_utc, read_view
from governance.registry import load_registry
from governance.status import WIDE_COLUMNS, render_table, status_board, summary_line, to_json


@click.command("status")
@warehouse_option
@target_option
@registry_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table for people, json for tools.")
@click.option("--wide", is_flag=True,
              help="Every column, however wide the terminal. [default: at most the terminal's"
                   " width, keeping status and reason and dropping the rest first]")
@read_wait_option
@handle_errors
def status_command(warehouse: Path | None, target: str | None, registry_dir: Path, fmt: str,
                   wide: bool, wait: float | None) -> None:
    """Sync status of every domain and flow: current, partial, delayed, failed or unknown with
    its reason, staleness against the SLO, last successful batch, p95 latency, open conflicts,
    quarantined events and the verdicts of the exports each domain feeds.

    Reads control.sync_health as of the last `dbt build` (in the DuckDB file, or in the
    warehouse of the dbt target --target names: DuckDB or Snowflake) and the registry (owners, tiers,
    exports). Exit codes: 0 nothing to page, 1 a domain of a paging tier (policy
    `paging_tiers`, default tier_1) is failed or delayed — a scheduler can page on it —,
    2 no readable warehouse or registry.

    While a cycle (`syncgov run`) holds the warehouse it answers at once from the snapshot the
    last cycle published and says how old it is; --wait queues behind the cycle to read live.
    A cycle or replay that died part-way is listed ("unfinished run since ...") until a later
    cycle completes.
    """
    path = resolve_warehouse(warehouse, target)
    view = read_view(path, wait=wait)
    registry = load_registry(registry_dir)
    board = status_board(view.snapshot, registry)
    note = view.note(now_utc())
    # outbound flows (exports as delivered and confirmed): their own section, read live only
    # (the published snapshot holds inbound health; a busy warehouse leaves the section out)
    outbound = (outbound_health.read_outbound_health(path, registry, now_utc())
                if view.live else ())
    if fmt == "json":
        document = to_json(board)
        document["live"] = view.live
        document["published_at"] = view.published_at.isoformat() + "Z" \
            if view.published_at else None
        document["unfinished_runs"] = list(view.unfinished)
        document["outbound"] = outbound_health.to_json(outbound)
        click.echo(json.dumps(document, indent=2))
    else:
        out = console(wide=wide)
        out.print(render_table(board, wide=wide or out.width >= WIDE_COLUMNS))
        out.print(summary_line(board), highlight=False)
        for h in outbound:
            out.print(f"outbound {h.export_id} -> {h.target}: {h.status}"
                      + (f" [{h.cause}]" if h.cause else "") + f" {h.reason}",
                      highlight=False, markup=False)
        for line in view.unfinished:
            out.print(line, highlight=False, style="bold yellow")
    if note is not None:
        click.echo(f"syncgov status: {note}", err=True)
    if board.paging:
        raise SystemExit(1)


def register(main: click.Group) -> None:
    main.add_command(status_command)
