"""`syncgov metrics`: sync health in the Prometheus text format."""

from __future__ import annotations

from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.cli.options import (
    read_wait_option,
    registry_option,
    resolve_warehouse,
    warehouse_option,
)
from governance.metrics import exposition, write_textfile
from governance.published import now_utc, read_view
from governance.registry import load_registry
from governance.status import status_board


@click.command("metrics")
@warehouse_option
@registry_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file atomically (for node-exporter's textfile collector the"
                   " name must end in .prom). [default: standard output]")
@read_wait_option
@handle_errors
def metrics_command(warehouse: Path | None, registry_dir: Path, out: Path | None,
                    wait: float | None) -> None:
    """Write sync health as Prometheus metrics: status, staleness and SLO seconds per domain
    and flow, propagation latency quantiles, duplicates, quarantined rows, open conflicts,
    unreconciled batches, drifted keys, SLO attainment and error-budget burn, and export
    verdicts, labelled by domain, flow and system.

    Run it after each `dbt build` (or from cron) with --out into node-exporter's
    --collector.textfile.directory (`syncgov run` writes one per cycle). While a cycle holds
    the warehouse it answers from the last published snapshot (and says how old it is on
    standard error); --wait reads live. Exit 2 when the warehouse cannot be read.
    """
    view = read_view(resolve_warehouse(warehouse), wait=wait)
    if (note := view.note(now_utc())) is not None:
        click.echo(f"syncgov metrics: {note}", err=True)
    snapshot = view.snapshot
    board = status_board(snapshot, load_registry(registry_dir))
    if out is None:
        click.echo(exposition(board, snapshot.attainment), nl=False)
    else:
        write_textfile(board, snapshot.attainment, out)
        click.echo(f"wrote {out}", err=True)


def register(main: click.Group) -> None:
    main.add_command(metrics_command)
