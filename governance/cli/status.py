"""`syncgov status`: every domain and flow, its status and why, for people and schedulers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.cli.options import registry_option, resolve_warehouse, warehouse_option
from governance.cli.terminal import console
from governance.control_tables import read_snapshot
from governance.exports import outbound_health
from governance.registry import load_registry
from governance.status import render_table, status_board, summary_line, to_json


@click.command("status")
@warehouse_option
@registry_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table for people, json for tools.")
@handle_errors
def status_command(warehouse: Path | None, registry_dir: Path, fmt: str) -> None:
    """Sync status of every domain and flow: current, partial, delayed, failed or unknown with
    its reason, staleness against the SLO, last successful batch, p95 latency, open conflicts,
    quarantined events and the verdicts of the exports each domain feeds.

    Reads control.sync_health as of the last `dbt build` and the registry (owners, tiers,
    exports). Exit codes: 0 nothing to page, 1 a domain of a paging tier (policy
    `paging_tiers`, default tier_1) is failed or delayed — a scheduler can page on it —,
    2 no readable warehouse or registry.
    """
    path = resolve_warehouse(warehouse)
    registry = load_registry(registry_dir)
    board = status_board(read_snapshot(path), registry)
    # outbound flows (exports as delivered and confirmed): their own section
    outbound = outbound_health.read_outbound_health(
        path, registry, datetime.now(UTC).replace(tzinfo=None))
    if fmt == "json":
        click.echo(json.dumps({**to_json(board), "outbound": outbound_health.to_json(outbound)},
                              indent=2))
    else:
        out = console()
        out.print(render_table(board))
        out.print(summary_line(board), highlight=False)
        for h in outbound:
            out.print(f"outbound {h.export_id} -> {h.target}: {h.status}"
                      + (f" [{h.cause}]" if h.cause else "") + f" {h.reason}", highlight=False, markup=False)
    if board.paging:
        raise SystemExit(1)


def register(main: click.Group) -> None:
    main.add_command(status_command)
