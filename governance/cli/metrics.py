"""`syncgov metrics`: sync health in the Prometheus text format, as a file or an endpoint."""

from __future__ import annotations

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
from governance.errors import UsageError
from governance.exports.outbound_health import read_outbound_health
from governance.metrics import exposition, write_textfile
from governance.observe.metrics_server import metrics_server
from governance.published import now_utc, read_view
from governance.registry import load_registry
from governance.status import status_board


@click.command("metrics")
@warehouse_option
@target_option
@registry_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file atomically (for node-exporter's textfile collector the"
                   " name must end in .prom). [default: standard output]")
@click.option("--serve", is_flag=True,
              help="Serve the metrics over HTTP at /metrics instead, read afresh on every"
                   " scrape (from the last published snapshot while a cycle holds the"
                   " warehouse); runs until interrupted.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="With --serve: the address to listen on (0.0.0.0 for every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=9464, show_default=True,
              help="With --serve: the port (0 picks a free one and says which).")
@read_wait_option
@handle_errors
def metrics_command(warehouse: Path | None, target: str | None, registry_dir: Path, out: Path | None, serve: bool,
                    host: str, port: int, wait: float | None) -> None:
    """Write sync health as Prometheus metrics: status, staleness and SLO seconds per domain
    and flow, propagation latency quantiles, duplicates, quarantined rows, open conflicts,
    unreconciled batches, drifted keys, SLO attainment and error-budget burn, and export
    verdicts, labelled by domain, flow and system; and each export's outbound health
    (syncgov_outbound_status, _dead_letters, _last_confirmed_timestamp_seconds).

    It reads the DuckDB file, or the warehouse of the dbt target --target names (DuckDB or
    Snowflake). Run it after each `dbt build` (or from cron) with --out into node-exporter's
    --collector.textfile.directory (`syncgov run` writes one per cycle), or keep
    `--serve --port 9464` running and let Prometheus scrape it (a scrape while the warehouse
    cannot be read answers 503). While a cycle holds the warehouse it answers from the last
    published snapshot (and says how old it is on standard error); --wait reads live. Exit 2
    when the warehouse cannot be read (without --serve) or the port cannot be bound.
    """
    wh = resolve_warehouse(warehouse, target)

    def render() -> str:
        registry = load_registry(registry_dir)
        view = read_view(wh, wait=wait)
        outbound = read_outbound_health(wh, registry, now_utc()) if view.live else ()
        return exposition(status_board(view.snapshot, registry), view.snapshot.attainment,
                          outbound)

    if serve:
        if out is not None:
            raise UsageError("--serve and --out exclude each other")
        load_registry(registry_dir)  # fail now on a broken registry, not at the first scrape
        server = metrics_server(host, port, render)
        click.echo(f"serving {server.url} (Ctrl-C to stop)", err=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
        return
    view = read_view(wh, wait=wait)
    if (note := view.note(now_utc())) is not None:
        click.echo(f"syncgov metrics: {note}", err=True)
    snapshot = view.snapshot
    registry = load_registry(registry_dir)
    board = status_board(snapshot, registry)
    outbound = read_outbound_health(wh, registry, now_utc()) if view.live else ()
    if out is None:
        click.echo(exposition(board, snapshot.attainment, outbound), nl=False)
    else:
        write_textfile(board, snapshot.attainment, out, outbound)
        click.echo(f"wrote {out}", err=True)


def register(main: click.Group) -> None:
    main.add_command(metrics_command)
