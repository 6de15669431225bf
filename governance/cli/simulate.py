"""`syncgov simulate`: write a fault-injected landing zone into the DuckDB warehouse."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.errors import UsageError
from governance.registry.model import load_model
from governance.simulate import FAULT_NAMES, SimulationParams, parse_faults, simulate
from governance.simulate.catalog import tables_for
from governance.simulate.generator import MEMORY_LIMIT
from governance.warehouse import default_warehouse


class Timestamp(click.ParamType):
    """An ISO 8601 moment; naive values are taken as UTC."""

    name = "TIMESTAMP"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{text!r} is not an ISO 8601 timestamp (e.g. 2026-11-24T12:00:00Z)", param, ctx)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment


@click.command(
    "simulate",
    epilog=(
        "Faults (NAME=RATE, rate in [0, 1]): "
        + ", ".join(FAULT_NAMES)
        + ". Presets: 'none', 'demo' (every fault but recovery).\n\n"
        "Per event: duplicate (a second, identical delivery), conflicting_redelivery (a second"
        " delivery of the same event id with one payload column changed), out_of_order, late,"
        " conflict (another system changes the same field), offset_timestamps"
        " (_source_event_at written with a UTC offset, same instant), and the faults that get"
        " an event quarantined, at most one per event, in this order: invalid (a null key or"
        " event id, an invalid op, enum or number, a garbage or zone-named timestamp, a"
        " negative quantity), null_metadata (_loaded_at, _sync_batch_id or _source_system"
        " null), wrong_source_system, future_loaded_at and future_event_at (in 2099).\n\n"
        "Per batch: missing_batch, partial_batch, late_commit (rows stamped 20 min, 2 h or"
        " 2 days before the run started; the ledger entry is normal), stalled_system (the"
        " trailing share of this run's batches that one system, chosen by the seed, never"
        " delivers), recovery (with --append: the share of that stalled backlog, oldest"
        " first, delivered now with its original batch ids and load times) and volume_drop (the"
        " trailing share of batches in which one landing table, chosen by the seed, delivers on"
        " time but a tenth of its rows).\n\n"
        "Example: syncgov simulate --replace --events 1000000 --faults demo"
    ),
)
@click.option("--warehouse", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="DuckDB file to write. [default: $SYNCGOV_WAREHOUSE or .warehouse/syncgov.duckdb]")
@click.option("--seed", type=int, default=42, show_default=True,
              help="Seed for every generated value; the same seed and --now give the same rows.")
@click.option("--now", type=Timestamp(), default=None,
              help="The moment the last batches finish, UTC. [default: the current time]")
@click.option("--entities", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Customers; products, suppliers, orders and invoices scale from it.")
@click.option("--events", type=click.IntRange(min=1), default=None,
              help="Change events across all landing tables, before faults; every batch holds"
                   " at least one. [default: 100000]")
@click.option("--batches", type=click.IntRange(min=1), default=24, show_default=True,
              help="Batches per landing table (with --append: how many to add).")
@click.option("--faults", "faults_spec", default="none", show_default=True, metavar="NAME=RATE,...",
              help="Faults to inject, e.g. duplicate=0.02,invalid=0.01 (see below).")
@click.option("--append", is_flag=True,
              help="Add the next --batches batches to an existing landing zone, same seed and sizes.")
@click.option("--replace", is_flag=True, help="Delete the warehouse file first and start anew.")
@click.option("--truth", "truth_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the truth file. [default: simulate_truth.json beside the warehouse]")
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary line.")
@click.option("--registry", "registry_dir", type=click.Path(path_type=Path), default=None,
              help="Fill the landing tables this registry declares (their fields, types and"
              " enums). [default: ./registry when it exists, else the demo's tables]")
@click.option("--memory-limit", default=MEMORY_LIMIT, show_default=True,
              envvar="SYNCGOV_SIMULATE_MEMORY_LIMIT", show_envvar=True,
              help="DuckDB's memory_limit for the run, and so its peak memory: the events are"
              " generated in chunks, so it needs no more at any --events (dbt's cap in"
              " profiles.yml is 2GB).")
@handle_errors
def simulate_command(
    warehouse: Path | None,
    seed: int,
    now: datetime | None,
    entities: int,
    events: int | None,
    batches: int,
    faults_spec: str,
    append: bool,
    replace: bool,
    truth_path: Path | None,
    quiet: bool,
    registry_dir: Path | None,
    memory_limit: str,
) -> None:
    """Write change events and the batch ledger into the landing zone (DESIGN.md §5).

    Every landing table `landing.<system>__<entity>` gets `--batches` batches of events with
    the sync metadata columns, `landing.sync_batches` gets one ledger row per batch, and the
    truth file records exactly which faults were injected, per table and per batch.
    """
    if append and replace:
        raise UsageError("--append and --replace cannot be combined")
    if append and events is not None:
        raise UsageError("--events cannot be combined with --append: the batch size is fixed by the first run")
    faults = parse_faults(faults_spec)
    if registry_dir is None and Path("registry").is_dir():
        registry_dir = Path("registry")
    tables = tables_for(load_model(registry_dir)) if registry_dir is not None else None
    path = warehouse or default_warehouse()
    if replace and path.exists():
        path.unlink()
        shutil.rmtree(path.with_suffix(".duckdb.wal"), ignore_errors=True)
    echo = (lambda _msg: None) if quiet else (lambda msg: click.echo(f"  {msg}", err=True))
    started = datetime.now(UTC)
    result = simulate(
        SimulationParams(
            warehouse=path,
            seed=seed,
            now=now,
            entities=entities,
            events=100_000 if events is None else events,
            batches=batches,
            faults=faults,
            append=append,
            truth_path=truth_path,
            tables=tables,
            memory_limit=memory_limit,
        ),
        progress=echo,
    )
    seconds = (datetime.now(UTC) - started).total_seconds()
    stalled = f"; stalled system: {result.stalled_system}" if result.stalled_system else ""
    click.echo(
        f"simulate: {result.rows_landed:,} rows landed in {len(result.tables)} tables of {path}"
        f" in {seconds:.1f}s{stalled}; truth: {result.truth_path}"
    )


def register(main: click.Group) -> None:
    main.add_command(simulate_command)
