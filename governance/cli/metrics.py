"""`syncgov metrics`: sync health in the Prometheus text format."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.cli.options import registry_option, resolve_warehouse, warehouse_option
from governance.control_tables import read_snapshot
from governance.exports.outbound_health import read_outbound_health
from governance.metrics import exposition, write_textfile
from governance.registry import load_registry
from governance.status import status_board


@click.command("metrics")
@warehouse_option
@registry_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file atomically (for node-exporter's textfile collector the"
                   " name must end in .prom). [default: standard output]")
@handle_errors
def metrics_command(warehouse: Path | None, registry_dir: Path, out: Path | None) -> None:
    """Write sync health as Prometheus metrics: status, staleness and SLO seconds per domain
    and flow, propagation latency quantiles, duplicates, quarantined rows, open conflicts,
    unreconciled batches, drifted keys, SLO attainment and error-budget burn, and export
    verdicts, labelled by domain, flow and system; and each export's outbound health
    (syncgov_outbound_status, _dead_letters, _last_confirmed_timestamp_seconds).

    Run it after each `dbt build` (or from cron) with --out into node-exporter's
    --collector.textfile.directory. Exit 2 when the warehouse cannot be read.
    """
    path = resolve_warehouse(warehouse)
    registry = load_registry(registry_dir)
    snapshot = read_snapshot(path)
    board = status_board(snapshot, registry)
    outbound = read_outbound_health(path, registry, datetime.now(UTC).replace(tzinfo=None))
    if out is None:
        click.echo(exposition(board, snapshot.attainment, outbound), nl=False)
    else:
        write_textfile(board, snapshot.attainment, out, outbound)
        click.echo(f"wrote {out}", err=True)


def register(main: click.Group) -> None:
    main.add_command(metrics_command)
