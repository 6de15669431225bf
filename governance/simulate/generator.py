"""Set-based generation of the landing zone inside DuckDB.

Each landing table is produced by one SQL pipeline over `range()`: events, their batches and
times, then the injected faults, each kept as a flag column. Rows that land are written to
`landing.<system>__<entity>`, batches to the ledger `landing.sync_batches`, and the per-batch
fault counts to `landing._syncgov_truth`, from which the truth file is rendered. The truth
judges deliveries as staging does: of an event's deliveries the canonical one (first by load
time, batch id, payload hash) is the event, the others are duplicates or conflicting
redeliveries. Rows of a stalled system's batches wait in `landing._syncgov_backlog__<table>`
until a `recovery` delivers them. No Python loop touches a row, so ten million events take
seconds, not hours.

The pipeline runs over one chunk of events at a time (`CHUNK_EVENTS`, issue 18): every delivery
of an event is generated in the event's chunk, and what spans chunks (ledger and truth per
batch, the extract per key) is accumulated and written once per table. The output is the same
for any chunk size; the working set is a chunk, so memory stays flat in the number of events,
at DuckDB's `memory_limit` (which DuckDB fills with the blocks it wrote, so it is the peak).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from governance.errors import InputError, UsageError
from governance.simulate.catalog import (
    CONFLICT_PAIRS,
    LANDING_TABLES,
    SOURCE_SYSTEMS,
    KeySpaces,
    LandingTable,
)
from governance.simulate.faults import INVALIDATING_FAULTS, FaultRates

# The last batch of a run finishes this long before `now`: loaders are never instantaneous.
LOAD_LAG = timedelta(seconds=30)
BATCH_DURATION = timedelta(seconds=20)
# `_source_event_at` values no strict parser accepts (a zone name is not an offset).
GARBAGE_TIMESTAMPS = (
    "not-a-timestamp", "2026-02-30T25:61:00Z", "31/12/2026 10:00", "", "infinity",
    "2026-11-24 10:00:00 Europe/Berlin",
)
# Numbers a lenient cast would round, read as hex, or accept with separators or exponents.
GARBAGE_NUMBERS = {
    "int": ("12.5", "0x10", "1_000", "1e3"),
    "money": ("12.345", "0x10", "1_000", "1e3"),
}
INVALID_OPS = ("merge", "insert", "")
# `offset_timestamps`: the same instant written in local time with these UTC offsets.
OFFSETS = (("+02:00", 120), ("-05:00", -300), ("+0530", 330), ("+01", 60))
# `late_commit`: how long before the start of the run a late batch's rows are stamped.
LATE_COMMIT_MINUTES = (20, 120, 2880)
FUTURE = "2099-01-01 00:00:00"
NULL_METADATA_REASONS = ("null_loaded_at", "null_batch_id", "null_source_system")
# Staging's quarantine reasons in its order of precedence: the first failing check names it.
QUARANTINE_REASONS = (
    "null_event_id", "null_loaded_at", "null_batch_id", "null_source_system",
    "wrong_source_system", "future_loaded_at", "null_key", "invalid_op",
    "unparseable_timestamp", "future_event_at", "unparseable_number", "invalid_enum",
    "negative_quantity",
)
# What the `invalid` fault picks from (where the table and the op allow it).
INVALID_REASONS = (
    "null_event_id", "null_key", "invalid_op", "unparseable_timestamp", "unparseable_number",
    "invalid_enum", "negative_quantity",
)
STATE_TABLE = "landing._syncgov_simulator"
VOLUME_DROP_KEEP = 10  # a volume_drop batch keeps one event in this many
TRUTH_TABLE = "landing._syncgov_truth"
# Events generated at once: the simulator's working set is this many events with their copies,
# whatever the size of the run, so its memory stays flat in --events.
CHUNK_EVENTS = 250_000
# DuckDB would take up to 80 % of RAM, and it fills whatever cap it has with the blocks it has
# written, so the cap is the simulator's peak (plus about 100 MB). A chunk needs far less than
# this, a quarter of the cap profiles.yml gives dbt; past it DuckDB spills to `<warehouse>.tmp/`.
MEMORY_LIMIT = "512MB"


def truth_key(reason: str) -> str:
    """The truth file's count of canonical deliveries quarantined for `reason`."""
    return reason if reason.startswith("invalid_") else f"invalid_{reason}"


def backlog_table(table: LandingTable) -> str:
    """Rows of a stalled system's batches, held back until a `recovery` delivers them."""
    return f"landing._syncgov_backlog__{table.name}"


@dataclass(frozen=True)
class SimulationParams:
    warehouse: Path
    seed: int = 42
    now: datetime | None = None
    entities: int = 2000
    events: int = 100_000
    batches: int = 24
    faults: FaultRates = field(default_factory=FaultRates)
    append: bool = False
    truth_path: Path | None = None
    # the landing tables to fill (catalog.tables_for(registry)); None: the demo's tables
    tables: tuple[LandingTable, ...] | None = None
    # events per chunk (see CHUNK_EVENTS); the output does not depend on it
    chunk_events: int = CHUNK_EVENTS
    # DuckDB's memory_limit for this run
    memory_limit: str = MEMORY_LIMIT

    @property
    def landing_tables(self) -> tuple[LandingTable, ...]:
        return self.tables if self.tables is not None else LANDING_TABLES


@dataclass(frozen=True)
class TableRun:
    table: str
    batches: int
    rows_landed: int


@dataclass(frozen=True)
class SimulationResult:
    warehouse: Path
    truth_path: Path
    now: datetime
    tables: tuple[TableRun, ...]
    stalled_system: str | None
    # chunks generated, and the most deliveries one of them held: the bound of the working set
    chunks: int = 0
    max_chunk_rows: int = 0

    @property
    def rows_landed(self) -> int:
        return sum(t.rows_landed for t in self.tables)


@dataclass(frozen=True)
class _TablePlan:
    """Where this run starts for one table and how its batch clock ticks."""

    table: LandingTable
    per_batch: int
    first_seq: int
    first_event: int
    base: datetime
    step_us: int

    def finish_expr(self, seq: str) -> str:
        return (
            f"(timestamp '{self.base.isoformat(sep=' ')}'"
            f" + to_microseconds(cast({seq} - {self.first_seq} + 1 as bigint) * {self.step_us}))"
        )


def _utc_naive(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def _sql(template: str, *, seed: int, spaces: KeySpaces) -> str:
    return (
        template.replace("$seed", str(seed))
        .replace("$customers", str(spaces.customers))
        .replace("$orders", str(spaces.orders))
    )


TRUTH_COUNTS: tuple[str, ...] = (
    "rows_sent", "rows_landed", "events_landed", "duplicates", "conflicting_redeliveries",
    "out_of_order", "late", "conflicts", "offset_timestamps", "rows_null_batch_id", "deletes",
    *(truth_key(r) for r in QUARANTINE_REASONS),
)


def create_landing_tables(con: duckdb.DuckDBPyConnection,
                          tables: tuple[LandingTable, ...] = LANDING_TABLES) -> None:
    """Create the landing contract's tables (DESIGN.md §5) and the simulator's bookkeeping."""
    con.execute("create schema if not exists landing")
    for table in tables:
        payload = ",\n    ".join(f"{col} varchar" for col in table.columns)
        con.execute(
            f"""
            create table if not exists landing.{table.name} (
                {payload},
                _event_id varchar,
                _source_system varchar,
                _op varchar,
                _source_event_at varchar,
                _loaded_at timestamp,
                _sync_batch_id varchar
            )"""
        )
    con.execute(
        """
        create table if not exists landing.sync_batches (
            batch_id varchar primary key,
            source_system varchar not null,
            entity varchar not null,
            landing_table varchar not null,
            sequence_number integer not null,
            started_at timestamp not null,
            finished_at timestamp not null,
            status varchar not null,
            rows_sent bigint not null,
            event_id_checksum bigint not null
        )"""
    )
    # backlog_first_seq/backlog_last_seq: the stalled batches not delivered yet (their rows
    # wait in `backlog_table`), null when there are none.
    con.execute(
        f"""
        create table if not exists {STATE_TABLE} (
            landing_table varchar primary key,
            seed bigint, entities bigint, per_batch bigint, batch_minutes double,
            next_batch_seq bigint, next_event_index bigint, last_finished_at timestamp,
            backlog_first_seq bigint, backlog_last_seq bigint
        )"""
    )
    counts = ", ".join(f"{name} bigint" for name in TRUTH_COUNTS)
    con.execute(
        f"""
        create table if not exists {TRUTH_TABLE} (
            landing_table varchar, batch_id varchar, sequence_number integer,
            in_ledger boolean, ledger_status varchar, missing boolean, partial boolean,
            stalled boolean, recovered boolean, late_commit_minutes integer,
            {counts}
        )"""
    )


def _choose(values: tuple[str, ...] | list[str], salt: str, over: str = "i") -> str:
    items = ", ".join(f"'{v}'" for v in values)
    return f"list_element([{items}], 1 + cast(hash({over}, '{salt}', $seed) % {len(values)} as integer))"


def _invalid_choice(table: LandingTable) -> str:
    """SQL for what the `invalid` fault breaks, among what the table and the op allow."""
    allowed = {
        "unparseable_number": bool(table.number_columns),
        "invalid_enum": bool(table.enums),
        "negative_quantity": table.quantity_column is not None,
    }
    upsert = [r for r in INVALID_REASONS if allowed.get(r, True)]
    delete = [r for r in INVALID_REASONS if r not in allowed]
    return f"case when op = 'delete' then {_choose(delete, 'why')} else {_choose(upsert, 'why')} end"


def _invalid_reason_expr(table: LandingTable, faults: FaultRates) -> str:
    """SQL giving each event at most one quarantine reason, from one draw `u_inv`.

    The invalidating faults split [0, 1) into consecutive intervals (`INVALIDATING_FAULTS`
    order), so an event never carries two reasons and each fault keeps its rate.
    """
    choices = {
        "invalid": _invalid_choice(table),
        "null_metadata": _choose(NULL_METADATA_REASONS, "nmd"),
        "wrong_source_system": "'wrong_source_system'",
        "future_loaded_at": "'future_loaded_at'",
        "future_event_at": "'future_event_at'",
    }
    branches: list[str] = []
    upper = 0.0
    for name in INVALIDATING_FAULTS:
        lower, upper = upper, min(1.0, upper + getattr(faults, name))
        if upper > lower:
            branches.append(f"when u_inv < {upper!r} then {choices[name]}")
    if not branches:
        return "cast(null as varchar)"
    return f"case {' '.join(branches)} end"


def _event_columns(table: LandingTable, *, index: str = "i") -> str:
    """Key and payload columns for generated events, nulled for deletes, broken when invalid."""
    exprs: list[str] = []
    for col in table.key_columns:
        exprs.append(
            f"case when invalid_reason = 'null_key' then null else {table.key_exprs[col]} end as {col}"
        )
    enum_col = next(iter(table.enums), None)
    numbers = table.number_columns
    for col, expr in table.payload.items():
        value = f"({expr})"
        if col == enum_col:
            value = f"case when invalid_reason = 'invalid_enum' then 'UNKNOWN_' || upper({value}) else {value} end"
        if col == table.quantity_column:
            value = (
                "case when invalid_reason = 'negative_quantity'"
                f" then '-' || cast(1 + hash({index}, 'neg', $seed) % 500 as varchar) else {value} end"
            )
        if col in numbers:
            garbage = GARBAGE_NUMBERS[table.column_types[col]]
            value = (
                f"case when invalid_reason = 'unparseable_number' and {_choose(numbers, 'ncol', index)} = '{col}'"
                f" then {_choose(garbage, 'gnum', index)} else {value} end"
            )
        exprs.append(f"case when op = 'delete' then null else {value} end as {col}")
    return ",\n            ".join(exprs)


def _redelivery_changes(table: LandingTable) -> str:
    """`replace` items for a conflicting redelivery: one column, chosen per event, changed."""
    candidates = table.redelivery_columns
    chosen = _choose(candidates, "rcol")
    items: list[str] = []
    for col in candidates:
        if col in table.enums:
            values = ", ".join(f"'{v}'" for v in table.enums[col])
            n = len(table.enums[col])
            changed = f"list_element([{values}], 1 + (coalesce(list_position([{values}], {col}), 0) % {n}))"
        elif table.column_types[col] == "int":
            changed = f"cast(cast({col} as bigint) + 1 as varchar)"
        else:
            changed = f"cast(cast({col} as decimal(18, 2)) + 1 as varchar)"
        items.append(
            f"case when copy_no = 2 and {chosen} = '{col}' then {changed} else {col} end as {col},"
        )
    return " ".join(items)


def payload_hash_expr(table: LandingTable, *, op: str = "_op") -> str:
    """Staging's `_payload_hash`: md5 over the sorted columns, then `_op` and `_source_event_at`."""
    parts = [f"coalesce({c}, '\u2205')" for c in sorted(table.columns)]
    parts += [f"coalesce({op}, '\u2205')", "coalesce(_source_event_at, '\u2205')"]
    return "md5(" + " || '|' || ".join(parts) + ")"


# `_op` and `_source_system` as sent, from the event's op, reason and index. They are derived
# where needed rather than stored in `_sim`: two strings per row cost memory at 10M events.
OP_EXPR = f"(case when invalid_reason = 'invalid_op' then {_choose(INVALID_OPS, 'iop')} else op end)"


def _source_system_expr(table: LandingTable) -> str:
    others = tuple(s for s in SOURCE_SYSTEMS if s != table.system)
    return (
        "(case when invalid_reason = 'null_source_system' then null"
        f" when invalid_reason = 'wrong_source_system' then {_choose(others, 'wss')}"
        f" else '{table.system}' end)"
    )


# The canonical delivery of an event: staging's order among its deliveries.
CANONICAL_ORDER = "_loaded_at asc nulls last, _sync_batch_id asc nulls last, _payload_hash asc"


def _late_commits(
    con: duckdb.DuckDBPyConnection, plans: list[_TablePlan], batches: int, seed: int, rate: float
) -> dict[str, dict[int, int]]:
    """`late_commit`: per table, the batches of this run committed late and their lag in minutes.

    Each batch is late by its own draw; the lags go round the late batches of the whole run in
    (sequence, table) order, so any run with three late batches shows all three lags.
    """
    if rate <= 0:
        return {}
    pairs = ", ".join(
        f"('{p.table.name}', {n}, {p.first_seq}, {p.first_seq + batches})" for n, p in enumerate(plans)
    )
    rows = con.execute(
        f"""
        select t, seq from (values {pairs}) as p(t, n, first_seq, end_seq),
            range(first_seq, end_seq) as r(seq)
        where ((hash(seq, t, 'lc', {seed}) % 1000000) / 1000000.0) < {rate}
        order by seq, n
        """
    ).fetchall()
    late: dict[str, dict[int, int]] = {}
    for rank, (table, seq) in enumerate(rows):
        late.setdefault(table, {})[int(seq)] = LATE_COMMIT_MINUTES[rank % len(LATE_COMMIT_MINUTES)]
    return late


def _late_commit_values(late: dict[int, int]) -> str:
    if not late:
        return "(select cast(null as bigint) as seq, cast(null as integer) as minutes)"
    rows = ", ".join(f"({seq}, {minutes})" for seq, minutes in sorted(late.items()))
    return f"(select * from (values {rows}) as v(seq, minutes))"


def _table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".")
    row = con.execute(
        "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


@dataclass
class _ChunkMeter:
    """What the chunks of one run held: the instrumented bound of the simulator's working set."""

    chunk_events: int = CHUNK_EVENTS
    chunks: int = 0
    max_rows: int = 0
    landed: int = 0
    # `_sim_versions` is compacted to one row per key once it holds more than this many rows
    versions_bound: int = 0

    def record(self, con: duckdb.DuckDBPyConnection) -> None:
        (rows,) = con.execute("select count(*) from _sim").fetchone() or (0,)
        self.chunks += 1
        self.max_rows = max(self.max_rows, int(rows))


def _groups(con: duckdb.DuckDBPyConnection, counted_sql: str, limit: int) -> list[list[int]]:
    """Consecutive groups of `counted_sql`'s (group, rows) pairs, each of at most `limit` rows.

    A single group larger than `limit` stays a group of its own; the callers bound their groups
    so that it never is.
    """
    groups: list[list[int]] = []
    rows_in_last = limit
    for group, rows in con.execute(counted_sql).fetchall():
        if rows_in_last + int(rows) > limit:
            groups.append([])
            rows_in_last = 0
        groups[-1].append(int(group))
        rows_in_last += int(rows)
    return groups


def _generate_table(
    con: duckdb.DuckDBPyConnection,
    plan: _TablePlan,
    *,
    batches: int,
    seed: int,
    spaces: KeySpaces,
    faults: FaultRates,
    stalled: bool,
    late_commits: dict[int, int],
    volume_drop: bool = False,
    chunk_events: int = 250_000,
    meter: _ChunkMeter | None = None,
) -> int:
    """Generate one table's events in chunks of at most `chunk_events`, and write what they make.

    Every delivery of an event (its copies, their ranking, the source's canonical version) is
    generated in the chunk of the event, so each chunk is complete on its own; what spans chunks
    (the ledger and the truth per batch, the extract per key, the events a partner system will
    shadow) is accumulated in small per-batch or per-key tables and written once at the end.
    Chunks come in three kinds: the stalled backlog a `recovery` delivers (first, so the backlog
    it reads is the one earlier runs left), this run's own events by index, and the companion
    events that shadow the partner table's (`conflict`).
    """
    meter = meter if meter is not None else _ChunkMeter(chunk_events=chunk_events)
    meter.versions_bound = 4 * chunk_events
    landed_before = meter.landed
    table = plan.table
    last_seq = plan.first_seq + batches - 1
    first_event = plan.first_event
    last_event = first_event + plan.per_batch * batches
    partner = next((a for a, b in CONFLICT_PAIRS if b.name == table.name), None)
    has_companions = partner is not None and faults.conflict > 0
    shadowed = any(a.name == table.name for a, _ in CONFLICT_PAIRS) and faults.conflict > 0
    pipeline = _pipeline_sql(
        plan, batches=batches, faults=faults, stalled=stalled, late_commits=late_commits,
        volume_drop=volume_drop, companions=has_companions, spaces=spaces,
    )

    def build(lo: int, hi: int, companion_chunks: str = "false") -> None:
        sql = pipeline.replace("$lo", str(lo)).replace("$hi", str(hi)).replace(
            "$companion_chunks", companion_chunks)
        con.execute(_sql(sql, seed=seed, spaces=spaces))

    _start_accumulators(con, table, shadowed=shadowed)

    backlog = backlog_table(table)
    if faults.recovery > 0 and _table_exists(con, backlog):
        seqs = [int(r[0]) for r in con.execute(f"select distinct seq from {backlog} order by 1").fetchall()]
        if seqs:
            through = seqs[math.ceil(faults.recovery * len(seqs)) - 1]
            for group in _groups(
                con,
                f"select i // {chunk_events}, count(*) from {backlog} where seq <= {through}"
                f" group by 1 order by 1",
                chunk_events,
            ):
                # all deliveries of an event share its index, so a chunk holds every one of them
                build(0, 0)
                chunk = f"seq <= {through} and i // {chunk_events} in ({', '.join(map(str, group))})"
                con.execute(
                    f"""
                    insert into _sim
                    select * replace (false as stalled, true as recovered, true as landed)
                    from {backlog} where {chunk}
                    """
                )
                con.execute(f"delete from {backlog} where {chunk}")
                _process_chunk(con, plan, recovered=True, seed=seed, spaces=spaces, faults=faults,
                               shadowed=False, chunk_no=0, meter=meter)

    for chunk_no, lo in enumerate(range(first_event, last_event, chunk_events)):
        build(lo, min(last_event, lo + chunk_events))
        _process_chunk(con, plan, recovered=False, seed=seed, spaces=spaces, faults=faults,
                       shadowed=shadowed, chunk_no=chunk_no, meter=meter)

    if has_companions:
        for group in _groups(
            con, "select chunk, count(*) from _sim_conflicts group by 1 order by 1", chunk_events
        ):
            build(0, 0, f"c.chunk in ({', '.join(map(str, group))})")
            _process_chunk(con, plan, recovered=False, seed=seed, spaces=spaces, faults=faults,
                           shadowed=False, chunk_no=0, meter=meter)

    _write_ledger(con, table)
    _write_truth(con, table)
    if table.extract:
        _refresh_extract(con, table, now_literal=plan.finish_expr(str(last_seq)))
    if has_companions:
        con.execute("drop table _sim_conflicts")
    if shadowed:
        # the events the partner system will shadow, read when its table is generated
        con.execute("drop table if exists _sim_conflicts")
        con.execute("alter table _sim_conflicts_next rename to _sim_conflicts")
    for name in ("_sim_ledger", "_sim_truth", "_sim_versions"):
        con.execute(f"drop table if exists {name}")
    return meter.landed - landed_before


def _pipeline_sql(
    plan: _TablePlan,
    *,
    batches: int,
    faults: FaultRates,
    stalled: bool,
    late_commits: dict[int, int],
    volume_drop: bool,
    companions: bool,
    spaces: KeySpaces,
) -> str:
    """The SQL that fills `_sim` with the events of indexes [$lo, $hi) and the chosen companions.

    One statement for every kind of chunk, so the columns of `_sim` (and of the backlog made
    from it) have the same types whichever kind a chunk is.
    """
    table = plan.table
    t = table.name
    interval_us = int(table.batch_minutes * 60_000_000)
    last_seq = plan.first_seq + batches - 1
    late_shift_us = interval_us * 10
    base = plan.base.isoformat(sep=" ")
    stalled_from = last_seq + 1
    if stalled and faults.stalled_system > 0:
        # A first run stalls the trailing share of its batches; once stalled, a system stays
        # stalled on every append that keeps the fault on.
        stalled_from = (
            plan.first_seq
            if plan.first_seq > 0
            else last_seq + 1 - math.ceil(faults.stalled_system * batches)
        )

    # volume_drop: the trailing batches keep one event in ten (VOLUME_DROP_KEEP), sent and
    # announced as such, so only the volume is wrong
    dropped_from = last_seq + 1 - math.ceil(faults.volume_drop * batches) if volume_drop \
        else last_seq + 1

    companion_sql = ""
    if companions:
        # Companion events shadow a partner event within two minutes, changing the same field.
        conflict_col = table.conflict_column
        other_cols = ", ".join(
            f"({table.payload[c]}) as {c}" if c != conflict_col else
            f"'x' || cast(hash(i, 'cv', $seed) % 1000 as varchar) || '_' || src_value as {c}"
            for c in table.payload
        )
        key_cols = ", ".join(f"{table.key_exprs[c]} as {c}" for c in table.key_columns)
        companion_sql = f"""
        union all
        select
            {key_cols}, {other_cols},
            '{t}:conflict:' || src_event_id as _event_id, 'upsert' as op, ts,
            null as invalid_reason, false as is_ooo, false as is_late, true as is_conflict,
            least({last_seq}, greatest({plan.first_seq},
                {plan.first_seq} - 1 + cast(ceil(epoch_us(ts - timestamp '{base}')
                / {plan.step_us}) as bigint))) as seq,
            i, kn
        from (select c.* exclude (chunk), 1000000000000 + c.src_index as i
              from _sim_conflicts as c where $companion_chunks)"""

    offset_renderings = ", ".join(
        f"strftime(ts + to_minutes({minutes}), '%Y-%m-%dT%H:%M:%S.%f') || '{suffix}'"
        for suffix, minutes in OFFSETS
    )
    return f"""
    create or replace temp table _sim as
    with numbered as (
        select
            i,
            i // {plan.per_batch} as seq,
            hash(i, 'key', $seed) % {table.key_space(spaces)} as kn,
            case when {_rand('del')} < {table.delete_rate} then 'delete' else 'upsert' end as op,
            -- salted with the table, so an index is not invalid in every table at once
            {_rand('inv', f"i, '{t}'")} as u_inv,
            {_rand('late')} < {faults.late} as is_late,
            {_rand('ooo')} < {faults.out_of_order} as is_ooo_raw
        from range($lo, $hi) as r(i)
        where i // {plan.per_batch} < {dropped_from}
            or i % {VOLUME_DROP_KEEP} = 0
    ),
    timed as (
        select
            *,
            {_invalid_reason_expr(table, faults)} as invalid_reason,
            is_ooo_raw and not is_late as is_ooo,
            {plan.finish_expr('seq')}
                - to_microseconds(cast({interval_us} * (0.05 + 0.95 * {_rand('t')}) as bigint))
                - case
                    when is_late then to_microseconds(cast({late_shift_us} * (1 + {_rand('lt')}) as bigint))
                    when is_ooo_raw then to_microseconds(cast({interval_us} * (1 + 2 * {_rand('ot')}) as bigint))
                    else to_microseconds(0)
                  end as ts
        from numbered
    ),
    generated as (
        select
            {_event_columns(table)},
            case when invalid_reason = 'null_event_id' then null
                else '{t}:' || cast(i as varchar) end as _event_id,
            op, ts, invalid_reason, is_ooo, is_late,
            {"op = 'upsert' and invalid_reason is null" if table.foreign_writes else "false"}
                as is_conflict,
            seq, i, kn
        from timed
        {companion_sql}
    ),
    events as (
        select
            *,
            invalid_reason is null
                and {_rand('off', f"i, '{t}'")} < {faults.offset_timestamps} as is_offset,
            invalid_reason is null and op = 'upsert'
                and {_rand('crd', f"i, '{t}'")} < {faults.conflicting_redelivery} as is_redelivered,
            _event_id is not null and {_rand('dup')} < {faults.duplicate} as has_dup
        from generated
    ),
    copies as (
        -- copy 0 is the delivery, copy 1 an identical resend (`duplicate`), copy 2 a resend
        -- with one column changed (`conflicting_redelivery`): each in the same batch half the
        -- time, else one to three batches later
        select * exclude (has_dup, is_redelivered) replace (
            {_redelivery_changes(table)}
            least({last_seq}, seq + case
                when copy_no = 1 and {_rand('dw')} >= 0.5 then 1 + cast(hash(i, 'dl', $seed) % 3 as bigint)
                when copy_no = 2 and {_rand('rw')} >= 0.5 then 1 + cast(hash(i, 'rl', $seed) % 3 as bigint)
                else 0
            end) as seq
        ),
        -- only deliveries of an event sent more than once need a payload hash to find their
        -- canonical one
        has_dup or is_redelivered as multi
        from (
            select e.*, c.copy_no
            from events as e, (values (0), (1), (2)) as c(copy_no)
            where c.copy_no = 0 or (c.copy_no = 1 and e.has_dup) or (c.copy_no = 2 and e.is_redelivered)
        )
    ),
    batch_flags as (
        select
            seq,
            {plan.finish_expr('seq')} as finished_at,
            seq >= {stalled_from} as stalled,
            not (seq >= {stalled_from})
                and {_rand('miss', f"seq, '{t}'")} < {faults.missing_batch} as missing,
            not (seq >= {stalled_from})
                and not ({_rand('miss', f"seq, '{t}'")} < {faults.missing_batch})
                and {_rand('part', f"seq, '{t}'")} < {faults.partial_batch} as partial
        from range({plan.first_seq}, {last_seq + 1}) as b(seq)
    ),
    batch_faults as (
        -- A late commit stamps the rows of a delivered batch long before this run started;
        -- its ledger entry is as usual. Stalled batches are not committed at all.
        select
            f.*,
            case when not f.stalled and not f.missing then lc.minutes end as late_commit_minutes
        from batch_flags as f
        left join {_late_commit_values(late_commits)} as lc on lc.seq = f.seq
    ),
    delivered as (
        select
            c.*,
            b.finished_at as _finished_at,
            case when c.invalid_reason = 'null_batch_id' then null
                else '{t}-' || lpad(cast(c.seq as varchar), 6, '0') end as _sync_batch_id,
            case
                when c.invalid_reason = 'null_loaded_at' then null
                when c.invalid_reason = 'future_loaded_at'
                    then timestamp '{FUTURE}' + to_minutes(cast(hash(c.i, 'fla', $seed) % 525600 as bigint))
                when b.late_commit_minutes is not null
                    then timestamp '{base}' - to_minutes(cast(b.late_commit_minutes as bigint))
                else b.finished_at
            end as _loaded_at,
            case
                when c.invalid_reason = 'unparseable_timestamp'
                    then {_choose(GARBAGE_TIMESTAMPS, 'gts', 'c.i')}
                when c.invalid_reason = 'future_event_at'
                    then strftime(timestamp '{FUTURE}' + to_minutes(cast(hash(c.i, 'fea', $seed) % 525600 as bigint)),
                        '%Y-%m-%dT%H:%M:%SZ')
                when c.is_offset
                    then list_element([{offset_renderings}],
                        1 + cast(hash(c.i, 'offz', $seed) % {len(OFFSETS)} as integer))
                else strftime(c.ts, '%Y-%m-%dT%H:%M:%S.%fZ')
            end as _source_event_at,
            b.missing, b.partial, b.stalled, b.late_commit_minutes, false as recovered,
            not (b.missing or b.stalled or (b.partial and {_rand('cut', 'c.i, c.copy_no')} < 0.4)) as landed
        from copies as c
        inner join batch_faults as b on c.seq = b.seq
    )
    select * from delivered
    """


def _start_accumulators(con: duckdb.DuckDBPyConnection, table: LandingTable, *, shadowed: bool) -> None:
    """The per-batch and per-key tables that the chunks of one table add to."""
    con.execute(
        "create or replace temp table _sim_ledger (seq bigint, finished_at timestamp,"
        " partial boolean, rows_sent bigint, checksum hugeint)"
    )
    counts = ", ".join(f"{name} bigint" for name in TRUTH_COUNTS if name != "rows_sent")
    con.execute(
        "create or replace temp table _sim_truth (seq bigint, rows_sent bigint, stalled boolean,"
        f" missing boolean, recovered boolean, late_commit_minutes integer, {counts})"
    )
    if table.extract:
        con.execute(
            f"create or replace temp table _sim_versions as"
            f" select {', '.join(table.columns)}, cast(null as timestamp) as updated_at,"
            f" false as is_delete, '' as _event_id from landing.{table.name} where false"
        )
    if shadowed:
        con.execute("drop table if exists _sim_conflicts_next")


def _process_chunk(
    con: duckdb.DuckDBPyConnection,
    plan: _TablePlan,
    *,
    recovered: bool,
    seed: int,
    spaces: KeySpaces,
    faults: FaultRates,
    shadowed: bool,
    chunk_no: int,
    meter: _ChunkMeter,
) -> None:
    """Rank, account for and write the deliveries in `_sim`, then drop it."""
    table = plan.table
    meter.record(con)
    _rank_deliveries(con, table, recovered, seed=seed, spaces=spaces)
    _add_to_ledger(con)
    _add_to_truth(con)

    cols = ", ".join(table.columns)
    insert = f"""
        insert into landing.{table.name} ({cols}, _event_id, _source_system, _op, _source_event_at,
                                _loaded_at, _sync_batch_id)
        select {cols}, _event_id, {_source_system_expr(table)}, {OP_EXPR}, _source_event_at,
            _loaded_at, _sync_batch_id
        from _sim where landed
        order by _loaded_at, _event_id, i, copy_no
        """
    con.execute(_sql(insert, seed=seed, spaces=spaces))

    if table.extract and not recovered:
        _add_versions(con, table, seed=seed, spaces=spaces)
        (versions,) = con.execute("select count(*) from _sim_versions").fetchone() or (0,)
        if versions > meter.versions_bound:
            # at most one version per key is ever needed: compact, and let the bound double
            # with what remains, so the compactions cost a constant per version
            _compact_versions(con, table)
            (kept,) = con.execute("select count(*) from _sim_versions").fetchone() or (0,)
            meter.versions_bound = max(4 * meter.chunk_events, 2 * int(kept))

    if shadowed:
        # Remember which events the partner system will shadow (see `companions` above).
        conflict_col = table.conflict_column
        select = _sql(
            f"""
            select i as src_index, kn, _event_id as src_event_id,
                {conflict_col} as src_value,
                ts + to_microseconds(cast(120000000 * {_rand('cgap')} as bigint)) as ts,
                {chunk_no} as chunk
            from _sim
            where copy_no = 0 and op = 'upsert' and invalid_reason is null and not recovered
                and {_rand('conf')} < {faults.conflict}
            """,
            seed=seed,
            spaces=spaces,
        )
        if _temp_table_exists(con, "_sim_conflicts_next"):
            con.execute(f"insert into _sim_conflicts_next {select}")
        else:
            con.execute(f"create temp table _sim_conflicts_next as {select}")
    _hold_back_stalled(con, table)
    (landed,) = con.execute("select count(*) from _sim where landed").fetchone() or (0,)
    meter.landed += int(landed)
    con.execute("drop table _sim")
    con.execute("drop table _sim_rank")


def _temp_table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute(
        "select count(*) from duckdb_tables() where database_name = 'temp' and table_name = ?",
        [name],
    ).fetchone()
    return bool(row and row[0])


def _hold_back_stalled(con: duckdb.DuckDBPyConnection, table: LandingTable) -> None:
    """Keep the rows of this run's stalled batches for a later `recovery`."""
    backlog = backlog_table(table)
    (stalled,) = con.execute("select count(*) from _sim where stalled").fetchone() or (0,)
    if not stalled:
        return
    con.execute(f"create table if not exists {backlog} as select * from _sim where false")
    con.execute(f"insert into {backlog} select * from _sim where stalled")


def _rank_deliveries(
    con: duckdb.DuckDBPyConnection, table: LandingTable, recovered: bool, *, seed: int,
    spaces: KeySpaces,
) -> None:
    """Classify the landed deliveries of events sent more than once, by staging's rule.

    `_sim_rank` holds, per such delivery, whether it is the canonical one and, if not, whether
    its payload differs from the canonical's (a conflicting redelivery). A recovered delivery
    competes with the deliveries of the same event that landed in earlier runs (no event of
    this run shares its id, so the rows this run has already written are never among them).
    """
    earlier = ""
    if recovered:
        earlier = f"""
        union all
        select cast(null as bigint), cast(null as integer), _event_id, _loaded_at,
            _sync_batch_id, {payload_hash_expr(table)}
        from landing.{table.name}
        where _event_id in (
            select _event_id from _sim where recovered and multi
        )"""
    sql = f"""
        create or replace temp table _sim_rank as
        with deliveries as (
            select i, copy_no, _event_id, _loaded_at, _sync_batch_id,
                {payload_hash_expr(table, op=OP_EXPR)} as _payload_hash
            from _sim
            where landed and multi
            {earlier}
        ),
        ranked as (
            select
                *,
                row_number() over canonical_first = 1 as is_canonical,
                first_value(_payload_hash) over canonical_first as canonical_hash
            from deliveries
            window canonical_first as (partition by _event_id order by {CANONICAL_ORDER})
        )
        select i, copy_no, is_canonical,
            not is_canonical and _payload_hash <> canonical_hash as is_conflicting
        from ranked
        where i is not null
        """
    con.execute(_sql(sql, seed=seed, spaces=spaces))


def _add_to_ledger(con: duckdb.DuckDBPyConnection) -> None:
    """The sender's view of this chunk per batch: rows sent, checksum of distinct event ids.

    Every delivery of an event is in the chunk of the event, so the distinct ids of a chunk are
    distinct across chunks too, and the partial checksums add up to the batch's.
    """
    con.execute(
        """
        insert into _sim_ledger
        with ids as (
            select seq, _event_id from _sim where not stalled and not multi
            union all
            select distinct seq, _event_id from _sim where not stalled and multi
        ),
        checksums as (
            select seq, sum(cast('0x' || left(md5(_event_id), 8) as bigint)) as checksum
            from ids group by seq
        ),
        batches as (
            select seq, max(_finished_at) as finished_at, bool_or(partial) as partial,
                count(*) as rows_sent
            from _sim where not stalled group by seq
        )
        select a.seq, a.finished_at, a.partial, a.rows_sent, s.checksum
        from batches as a
        left join checksums as s on a.seq = s.seq
        """
    )


def _write_ledger(con: duckdb.DuckDBPyConnection, table: LandingTable) -> None:
    """One ledger row per batch sent: every row it sent (lost or not), the id checksum.

    A missing batch is still recorded as a success; that is the fault. Events sent without an
    id add nothing to the checksum.
    """
    t = table.name
    con.execute(
        f"""
        with batches as (
            select seq, max(finished_at) as finished_at, bool_or(partial) as partial,
                sum(rows_sent) as rows_sent, sum(checksum) as checksum
            from _sim_ledger group by seq
        )
        insert into landing.sync_batches
        select
            '{t}-' || lpad(cast(a.seq as varchar), 6, '0'),
            '{table.system}', '{table.entity}', '{t}', a.seq,
            a.finished_at - interval {int(BATCH_DURATION.total_seconds())} second, a.finished_at,
            case when a.partial then 'partial' else 'success' end,
            a.rows_sent, coalesce(a.checksum, 0)
        from batches as a
        """
    )


def _add_to_truth(con: duckdb.DuckDBPyConnection) -> None:
    """This chunk's share of what each batch sent, landed and had injected.

    Counts are of canonical deliveries, attributed to the batch that sent them, except
    `rows_*`, `duplicates` (non-canonical deliveries with the canonical's payload) and
    `conflicting_redeliveries` (non-canonical deliveries with another payload).
    """
    reasons = ",\n                ".join(
        f"count(*) filter (where canonical and invalid_reason = '{r}') as {truth_key(r)}"
        for r in QUARANTINE_REASONS
    )
    con.execute(
        f"""
        insert into _sim_truth by name
        with landed as (
            select s.*,
                coalesce(r.is_canonical, true) as canonical,
                coalesce(r.is_conflicting, false) as conflicting
            from _sim as s
            left join _sim_rank as r on s.i = r.i and s.copy_no = r.copy_no
            where s.landed
        ),
        per_batch as (
            select seq,
                count(*) as rows_landed,
                count(*) filter (where canonical) as events_landed,
                count(*) filter (where not canonical and not conflicting) as duplicates,
                count(*) filter (where conflicting) as conflicting_redeliveries,
                count(*) filter (where canonical and is_ooo) as out_of_order,
                count(*) filter (where canonical and is_late) as late,
                count(*) filter (where canonical and is_conflict) as conflicts,
                count(*) filter (where canonical and is_offset) as offset_timestamps,
                count(*) filter (where _sync_batch_id is null) as rows_null_batch_id,
                count(*) filter (where canonical and op = 'delete') as deletes,
                {reasons}
            from landed group by seq
        ),
        batches as (
            select seq, count(*) as rows_sent, bool_or(stalled) as stalled,
                bool_or(missing) as missing, bool_or(recovered) as recovered,
                max(late_commit_minutes) as late_commit_minutes
            from _sim group by seq
        )
        select b.seq, b.rows_sent, b.stalled, b.missing, b.recovered, b.late_commit_minutes,
            columns(p.* exclude (seq))
        from batches as b
        left join per_batch as p on p.seq = b.seq
        """
    )


def _write_truth(con: duckdb.DuckDBPyConnection, table: LandingTable) -> None:
    """Per batch of this run (and per recovered batch): what was sent, landed and injected."""
    t = table.name
    counts = [name for name in TRUTH_COUNTS if name != "rows_sent"]
    con.execute(
        f"""
        delete from {TRUTH_TABLE}
        where landing_table = '{t}'
            and sequence_number in (select distinct seq from _sim_truth where recovered)
        """
    )
    con.execute(
        f"""
        with b as (
            select seq, sum(rows_sent) as rows_sent, bool_or(stalled) as stalled,
                bool_or(missing) as missing, bool_or(recovered) as recovered,
                max(late_commit_minutes) as late_commit_minutes,
                {", ".join(f"sum({c}) as {c}" for c in counts)}
            from _sim_truth group by seq
        )
        insert into {TRUTH_TABLE} by name
        select
            '{t}' as landing_table,
            '{t}-' || lpad(cast(b.seq as varchar), 6, '0') as batch_id,
            b.seq as sequence_number,
            l.status is not null as in_ledger,
            l.status as ledger_status,
            coalesce(l.status = 'success' and coalesce(b.rows_landed, 0) = 0 and b.missing, false)
                as missing,
            coalesce(l.status = 'partial', false) as partial,
            b.stalled, b.recovered, b.late_commit_minutes, b.rows_sent,
            {", ".join(f"b.{c}" for c in counts)}
        from b
        left join landing.sync_batches as l
            on l.batch_id = '{t}-' || lpad(cast(b.seq as varchar), 6, '0')
        """
    )
    con.execute(
        f"update {TRUTH_TABLE} set "
        + ", ".join(f"{c} = coalesce({c}, 0)" for c in TRUTH_COUNTS)
        + f" where landing_table = '{t}'"
    )


def extract_table(table: LandingTable) -> str:
    return f"landing.{table.name}__extract"


# The version of a key the source holds: the latest, a delete before an upsert at the same
# moment, then the greater event id. A total order, so the latest of the latest per chunk is the
# latest of all.
VERSION_ORDER = "updated_at desc, is_delete desc, _event_id desc"


def _add_versions(
    con: duckdb.DuckDBPyConnection, table: LandingTable, *, seed: int, spaces: KeySpaces
) -> None:
    """This chunk's latest valid version of every key it changed, deletes included.

    An event sent more than once counts with the payload of its canonical delivery (the one
    staging keeps). Quarantined events are not part of the source's dump: what the source
    holds for them is unknowable from the landing zone.
    """
    cols = ", ".join(table.columns)
    keys = ", ".join(table.key_columns)
    sql = f"""
        insert into _sim_versions
        with sent_once as (
            select * from _sim
            where not recovered and invalid_reason is null and not multi
        ),
        sent_canonical as (
            select *, {payload_hash_expr(table, op=OP_EXPR)} as _payload_hash from _sim
            where not recovered and invalid_reason is null and multi
            qualify row_number() over (partition by i order by {CANONICAL_ORDER}) = 1
        ),
        versions as (
            select {cols}, ts as updated_at, op = 'delete' as is_delete, _event_id
            from sent_once
            union all
            select {cols}, ts as updated_at, op = 'delete' as is_delete, _event_id
            from sent_canonical
        )
        select * from versions
        qualify row_number() over (partition by {keys} order by {VERSION_ORDER}) = 1
        """
    con.execute(_sql(sql, seed=seed, spaces=spaces))


def _compact_versions(con: duckdb.DuckDBPyConnection, table: LandingTable) -> None:
    """Keep only the latest of the accumulated versions of each key (deletes included)."""
    con.execute(
        f"""
        create or replace temp table _sim_versions as
        select * from _sim_versions
        qualify row_number() over (
            partition by {", ".join(table.key_columns)} order by {VERSION_ORDER}) = 1
        """
    )


def _refresh_extract(con: duckdb.DuckDBPyConnection, table: LandingTable, now_literal: str) -> None:
    """The source's own full dump: the latest valid version of every live key.

    It knows every change the source made, including the ones whose batches never landed,
    so comparing it with the warehouse state reveals drift. The chunks' versions compete with
    the dump of the previous run; a key whose latest version is a delete leaves the dump.
    Recovered events were part of it when they were generated.
    """
    cols = ", ".join(table.columns)
    keys = ", ".join(table.key_columns)
    con.execute(
        f"""
        create table if not exists {extract_table(table)} as
        select {cols}, cast(null as timestamp) as updated_at, cast(null as timestamp) as _extracted_at
        from landing.{table.name} where false
        """
    )
    con.execute(
        f"""
        create or replace temp table _extract_next as
        with versions as (
            select {cols}, updated_at, false as is_delete, '' as _event_id
            from {extract_table(table)}
            union all
            select {cols}, updated_at, is_delete, _event_id
            from _sim_versions
        )
        select * exclude (is_delete, _event_id), {now_literal} as _extracted_at
        from versions
        qualify row_number() over (partition by {keys} order by {VERSION_ORDER}) = 1
            and not is_delete
        """
    )
    con.execute(f"delete from {extract_table(table)}")
    con.execute(f"insert into {extract_table(table)} select * from _extract_next")
    con.execute("drop table _extract_next")


def _rand(salt: str, over: str = "i") -> str:
    return f"((hash({over}, '{salt}', $seed) % 1000000) / 1000000.0)"


def _plan(
    con: duckdb.DuckDBPyConnection, params: SimulationParams, now: datetime
) -> tuple[list[_TablePlan], int, int]:
    """Work out, per table, the batch sequence, event range and batch clock of this run."""
    plans: list[_TablePlan] = []
    existing = {
        row[0]: row
        for row in con.execute(
            f"select landing_table, seed, entities, per_batch, batch_minutes, next_batch_seq,"
            f" next_event_index, last_finished_at from {STATE_TABLE}"
        ).fetchall()
    }
    if params.append and not existing:
        raise InputError(
            f"--append: {params.warehouse} has no simulated landing zone yet;"
            " run `syncgov simulate` without --append first"
        )
    if not params.append and existing:
        raise UsageError(
            f"{params.warehouse} already has a simulated landing zone; use --append to add"
            " batches, or --replace to start a new warehouse"
        )
    seed, entities = params.seed, params.entities
    if params.append:
        first = next(iter(existing.values()))
        seed, entities = int(first[1]), int(first[2])
    for table in params.landing_tables:
        interval = timedelta(minutes=table.batch_minutes)
        if params.append:
            row = existing.get(table.name)
            if row is None:
                raise InputError(
                    f"--append: landing.{table.name} is new since {params.warehouse} was first"
                    " simulated; simulate a new warehouse (--replace) to include it")
            per_batch, first_seq, first_event, last = int(row[3]), int(row[5]), int(row[6]), row[7]
            room = (now - LOAD_LAG) - last
            step = min(interval, room / params.batches) if room > timedelta(0) else timedelta(seconds=1)
            base = last
        else:
            per_batch = max(1, round(params.events * table.weight / params.batches))
            first_seq, first_event = 0, 0
            step = interval
            base = now - LOAD_LAG - interval * params.batches
        plans.append(
            _TablePlan(
                table=table,
                per_batch=per_batch,
                first_seq=first_seq,
                first_event=first_event,
                base=base,
                step_us=max(1, int(step / timedelta(microseconds=1))),
            )
        )
    return plans, seed, entities


def simulate(
    params: SimulationParams, progress: Callable[[str], None] | None = None
) -> SimulationResult:
    """Write (or append to) the landing zone of `params.warehouse`; return what landed."""
    if params.entities < 1 or params.batches < 1 or params.events < 1:
        raise UsageError("--entities, --batches and --events must be at least 1")
    if params.chunk_events < 1:
        raise UsageError("the chunk size must be at least 1 event")
    now = _utc_naive(params.now or datetime.now(UTC))
    if params.append and not params.warehouse.exists():
        raise InputError(
            f"--append: {params.warehouse} does not exist; run `syncgov simulate` without --append first"
        )
    params.warehouse.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(params.warehouse))
    except duckdb.Error as exc:
        raise InputError(f"cannot open warehouse {params.warehouse}: {exc}") from exc
    try:
        con.execute("set TimeZone = 'UTC'")
        try:
            con.execute("set memory_limit = ?", [params.memory_limit])
        except duckdb.Error as exc:
            raise UsageError(f"memory limit {params.memory_limit!r}: {exc}") from exc
        create_landing_tables(con, params.landing_tables)
        plans, seed, entities = _plan(con, params, now)
        spaces = KeySpaces.from_entities(entities)
        stalled_system = (
            SOURCE_SYSTEMS[seed % len(SOURCE_SYSTEMS)] if params.faults.stalled_system > 0 else None
        )
        late_commits = _late_commits(con, plans, params.batches, seed, params.faults.late_commit)
        tables = params.landing_tables
        volume_drop_table = (tables[seed % len(tables)].name
                             if params.faults.volume_drop > 0 else None)
        runs: list[TableRun] = []
        meter = _ChunkMeter(chunk_events=params.chunk_events)
        con.execute("begin transaction")
        for plan in plans:
            rows = _generate_table(
                con,
                plan,
                batches=params.batches,
                seed=seed,
                spaces=spaces,
                faults=params.faults,
                stalled=plan.table.system == stalled_system,
                late_commits=late_commits.get(plan.table.name, {}),
                volume_drop=plan.table.name == volume_drop_table,
                chunk_events=params.chunk_events,
                meter=meter,
            )
            runs.append(TableRun(plan.table.name, params.batches, rows))
            if progress:
                progress(f"landing.{plan.table.name}: {rows:,} rows in {params.batches} batches")
            backlog = (
                con.execute(
                    f"select min(seq), max(seq) from {backlog_table(plan.table)}"
                ).fetchone()
                if _table_exists(con, backlog_table(plan.table))
                else None
            ) or (None, None)
            con.execute(
                f"""
                insert or replace into {STATE_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    plan.table.name, seed, entities, plan.per_batch, plan.table.batch_minutes,
                    plan.first_seq + params.batches,
                    plan.first_event + plan.per_batch * params.batches,
                    _finish(plan, plan.first_seq + params.batches - 1),
                    *backlog,
                ],
            )
        con.execute("commit")
        truth = build_truth(con)
        truth["run"] = {
            "seed": seed,
            "now": now.isoformat() + "Z",
            "entities": entities,
            "events": params.events,
            "batches": params.batches,
            "append": params.append,
            "faults": params.faults.as_dict(),
            "stalled_system": stalled_system,
            "volume_drop_table": volume_drop_table,
        }
    finally:
        con.close()
    truth_path = params.truth_path or params.warehouse.with_name("simulate_truth.json")
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    truth_path.write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n")
    return SimulationResult(
        warehouse=params.warehouse,
        truth_path=truth_path,
        now=now,
        tables=tuple(runs),
        stalled_system=stalled_system,
        chunks=meter.chunks,
        max_chunk_rows=meter.max_rows,
    )


def _finish(plan: _TablePlan, seq: int) -> datetime:
    return plan.base + timedelta(microseconds=(seq - plan.first_seq + 1) * plan.step_us)


def build_truth(con: duckdb.DuckDBPyConnection) -> dict:
    """The cumulative account of everything injected, per table and per batch."""
    rows = con.execute(
        f"select * from {TRUTH_TABLE} order by landing_table, sequence_number"
    ).fetchall()
    names = [d[0] for d in con.description]
    tables: dict[str, dict] = {}
    for row in rows:
        rec = dict(zip(names, row, strict=True))
        entry = tables.setdefault(
            rec["landing_table"],
            {"totals": dict.fromkeys(TRUTH_COUNTS, 0), "batches": {}, "missing_batches": [],
             "partial_batches": [], "stalled_batches": [], "recovered_batches": [],
             "late_commit_batches": {}, "null_batch_id_batches": []},
        )
        for key in TRUTH_COUNTS:
            entry["totals"][key] += int(rec[key])
        entry["batches"][rec["batch_id"]] = {
            key: rec[key]
            for key in ("sequence_number", "in_ledger", "ledger_status", "recovered",
                        "late_commit_minutes", *TRUTH_COUNTS)
        }
        for flag in ("missing", "partial", "stalled", "recovered"):
            if rec[flag]:
                entry[f"{flag}_batches"].append(rec["batch_id"])
        if rec["late_commit_minutes"] is not None and rec["rows_landed"]:
            entry["late_commit_batches"][rec["batch_id"]] = rec["late_commit_minutes"]
        if rec["rows_null_batch_id"]:
            entry["null_batch_id_batches"].append(rec["batch_id"])
    totals = dict.fromkeys(TRUTH_COUNTS, 0)
    for entry in tables.values():
        for key in TRUTH_COUNTS:
            totals[key] += entry["totals"][key]
    return {
        "format": "syncgov-simulate-truth/v2",
        "quarantine_reasons": {reason: truth_key(reason) for reason in QUARANTINE_REASONS},
        "totals": totals,
        "tables": tables,
    }
