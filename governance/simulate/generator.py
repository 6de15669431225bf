"""Set-based generation of the landing zone inside DuckDB.

Each landing table is produced by one SQL pipeline over `range()`: events, their batches and
times, then the injected faults, each kept as a flag column. Rows that land are written to
`landing.<system>__<entity>`, batches to the ledger `landing.sync_batches`, and the per-batch
fault counts to `landing._syncgov_truth`, from which the truth file is rendered. No Python
loop touches a row, so ten million events take seconds, not hours.
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
from governance.simulate.faults import FaultRates

# The last batch of a run finishes this long before `now`: loaders are never instantaneous.
LOAD_LAG = timedelta(seconds=30)
BATCH_DURATION = timedelta(seconds=20)
GARBAGE_TIMESTAMPS = ("not-a-timestamp", "2026-02-30T25:61:00Z", "31/12/2026 10:00", "")
INVALID_REASONS = ("null_key", "invalid_enum", "negative_quantity", "unparseable_timestamp")
STATE_TABLE = "landing._syncgov_simulator"
VOLUME_DROP_KEEP = 10  # a volume_drop batch keeps one event in this many
TRUTH_TABLE = "landing._syncgov_truth"


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


def create_landing_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the landing contract's tables (DESIGN.md §5) and the simulator's bookkeeping."""
    con.execute("create schema if not exists landing")
    for table in LANDING_TABLES:
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
    con.execute(
        f"""
        create table if not exists {STATE_TABLE} (
            landing_table varchar primary key,
            seed bigint, entities bigint, per_batch bigint, batch_minutes double,
            next_batch_seq bigint, next_event_index bigint, last_finished_at timestamp
        )"""
    )
    con.execute(
        f"""
        create table if not exists {TRUTH_TABLE} (
            landing_table varchar, batch_id varchar, sequence_number integer,
            in_ledger boolean, ledger_status varchar, missing boolean, partial boolean,
            stalled boolean, rows_sent bigint, rows_landed bigint, events_landed bigint,
            duplicates bigint, out_of_order bigint, late bigint, conflicts bigint,
            invalid_null_key bigint, invalid_enum bigint, invalid_negative_quantity bigint,
            invalid_unparseable_timestamp bigint, deletes bigint
        )"""
    )


def _invalid_reason_expr(table: LandingTable) -> str:
    """SQL choosing which invalidity an event gets, among those its table and op allow."""
    upsert_reasons = ["null_key", "unparseable_timestamp"]
    if table.enums:
        upsert_reasons.append("invalid_enum")
    if table.quantity_column:
        upsert_reasons.append("negative_quantity")
    delete_reasons = ["null_key", "unparseable_timestamp"]

    def choose(reasons: list[str]) -> str:
        items = ", ".join(f"'{r}'" for r in reasons)
        return f"list_element([{items}], 1 + cast(hash(i, 'why', $seed) % {len(reasons)} as integer))"

    return f"case when op = 'delete' then {choose(delete_reasons)} else {choose(upsert_reasons)} end"


def _event_columns(table: LandingTable, *, index: str = "i") -> str:
    """Key and payload columns for generated events, nulled for deletes, broken when invalid."""
    exprs: list[str] = []
    for col in table.key_columns:
        exprs.append(
            f"case when invalid_reason = 'null_key' then null else {table.key_exprs[col]} end as {col}"
        )
    enum_col = next(iter(table.enums), None)
    for col, expr in table.payload.items():
        value = f"({expr})"
        if col == enum_col:
            value = f"case when invalid_reason = 'invalid_enum' then 'UNKNOWN_' || upper({value}) else {value} end"
        if col == table.quantity_column:
            value = (
                "case when invalid_reason = 'negative_quantity'"
                f" then '-' || cast(1 + hash({index}, 'neg', $seed) % 500 as varchar) else {value} end"
            )
        exprs.append(f"case when op = 'delete' then null else {value} end as {col}")
    return ",\n            ".join(exprs)


def _generate_table(
    con: duckdb.DuckDBPyConnection,
    plan: _TablePlan,
    *,
    batches: int,
    seed: int,
    spaces: KeySpaces,
    faults: FaultRates,
    stalled: bool,
    volume_drop: bool = False,
) -> int:
    table = plan.table
    t = table.name
    interval_us = int(table.batch_minutes * 60_000_000)
    last_seq = plan.first_seq + batches - 1
    first_event = plan.first_event
    last_event = first_event + plan.per_batch * batches
    late_shift_us = interval_us * 10
    garbage = ", ".join(f"'{g}'" for g in GARBAGE_TIMESTAMPS)
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

    companions = ""
    partner = next((a for a, b in CONFLICT_PAIRS if b is table), None)
    if partner is not None and faults.conflict > 0:
        # Companion events shadow a partner event within two minutes, changing the same field.
        conflict_col = table.conflict_column
        other_cols = ", ".join(
            f"({table.payload[c]}) as {c}" if c != conflict_col else
            f"'x' || cast(hash(i, 'cv', $seed) % 1000 as varchar) || '_' || src_value as {c}"
            for c in table.payload
        )
        key_cols = ", ".join(f"{table.key_exprs[c]} as {c}" for c in table.key_columns)
        companions = f"""
        union all
        select
            {key_cols}, {other_cols},
            '{t}:conflict:' || src_event_id as _event_id,
            'upsert' as op, ts, null as invalid_reason, false as is_ooo, false as is_late,
            true as is_conflict, least({last_seq}, greatest({plan.first_seq},
                {plan.first_seq} - 1 + cast(ceil(epoch_us(ts - timestamp '{plan.base.isoformat(sep=' ')}')
                / {plan.step_us}) as bigint))) as seq,
            i, kn
        from (select c.*, 1000000000000 + c.src_index as i from _sim_conflicts as c)"""

    sql = f"""
    create or replace temp table _sim as
    with numbered as (
        select
            i,
            i // {plan.per_batch} as seq,
            hash(i, 'key', $seed) % {table.key_space(spaces)} as kn,
            case when {_rand('del')} < {table.delete_rate} then 'delete' else 'upsert' end as op,
            {_rand('inv')} < {faults.invalid} as is_invalid,
            {_rand('late')} < {faults.late} as is_late,
            {_rand('ooo')} < {faults.out_of_order} as is_ooo_raw
        from range({first_event}, {last_event}) as r(i)
        where i // {plan.per_batch} < {dropped_from}
            or i % {VOLUME_DROP_KEEP} = 0
    ),
    timed as (
        select
            *,
            case when is_invalid then {_invalid_reason_expr(table)} end as invalid_reason,
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
    events as (
        select
            {_event_columns(table)},
            '{t}:' || cast(i as varchar) as _event_id,
            op, ts, invalid_reason, is_ooo, is_late,
            {"op = 'upsert' and invalid_reason is null" if table.foreign_writes else "false"}
                as is_conflict,
            seq, i, kn
        from timed
        {companions}
    ),
    copies as (
        select *, 0 as copy_no from events
        union all
        select * replace (
            least({last_seq}, seq + case when {_rand('dw')} < 0.5 then 0
                else 1 + cast(hash(i, 'dl', $seed) % 3 as bigint) end) as seq
        ), 1 as copy_no
        from events
        where {_rand('dup')} < {faults.duplicate}
    ),
    batch_faults as (
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
    )
    select
        c.*,
        '{t}-' || lpad(cast(c.seq as varchar), 6, '0') as _sync_batch_id,
        b.finished_at as _loaded_at,
        case when c.invalid_reason = 'unparseable_timestamp'
            then list_element([{garbage}], 1 + cast(hash(c.i, 'gts', $seed) % {len(GARBAGE_TIMESTAMPS)} as integer))
            else strftime(c.ts, '%Y-%m-%dT%H:%M:%S.%fZ') end as _source_event_at,
        b.missing, b.partial, b.stalled,
        not (b.missing or b.stalled or (b.partial and {_rand('cut', 'c.i, c.copy_no')} < 0.4)) as landed
    from copies as c
    inner join batch_faults as b on c.seq = b.seq
    """
    con.execute(_sql(sql, seed=seed, spaces=spaces))

    cols = ", ".join(table.columns)
    con.execute(
        f"""
        insert into landing.{t} ({cols}, _event_id, _source_system, _op, _source_event_at,
                                _loaded_at, _sync_batch_id)
        select {cols}, _event_id, '{table.system}', op, _source_event_at, _loaded_at, _sync_batch_id
        from _sim where landed
        order by _loaded_at, _event_id
        """
    )
    # The sender's view: every row it sent (lost or not), the checksum of distinct event ids.
    # A missing batch is still recorded as a success; that is the fault.
    ledger_sql = f"""
        with sent as (
            select seq, count(*) as rows_sent, sum(distinct_hash) as checksum
            from (
                select seq,
                    case when row_number() over (partition by seq, _event_id order by copy_no) = 1
                        then cast('0x' || left(md5(_event_id), 8) as bigint) else 0 end as distinct_hash
                from _sim
            )
            group by seq
        ),
        partial_batches as (
            select seq, bool_or(partial) as partial from _sim group by seq
        ),
        batches as (
            select b.seq, {plan.finish_expr('b.seq')} as finished_at,
                coalesce(p.partial, false) as partial
            from range({plan.first_seq}, {last_seq + 1}) as b(seq)
            left join partial_batches as p on b.seq = p.seq
            where b.seq < {stalled_from}
        )
        insert into landing.sync_batches
        select
            '{t}-' || lpad(cast(a.seq as varchar), 6, '0'),
            '{table.system}', '{table.entity}', '{t}', a.seq,
            a.finished_at - interval {int(BATCH_DURATION.total_seconds())} second, a.finished_at,
            case when a.partial then 'partial' else 'success' end,
            coalesce(s.rows_sent, 0), coalesce(s.checksum, 0)
        from batches as a
        left join sent as s on a.seq = s.seq
    """
    con.execute(_sql(ledger_sql, seed=seed, spaces=spaces))
    truth_sql = f"""
        with landed as (
            select *,
                row_number() over (partition by _event_id order by _loaded_at, seq, copy_no) > 1 as is_dup
            from _sim where landed
        ),
        per_batch as (
            select seq,
                count(*) as rows_landed,
                count(*) filter (where not is_dup) as events_landed,
                count(*) filter (where is_dup) as duplicates,
                count(*) filter (where not is_dup and is_ooo) as out_of_order,
                count(*) filter (where not is_dup and is_late) as late,
                count(*) filter (where not is_dup and is_conflict) as conflicts,
                count(*) filter (where not is_dup and invalid_reason = 'null_key') as null_key,
                count(*) filter (where not is_dup and invalid_reason = 'invalid_enum') as bad_enum,
                count(*) filter (where not is_dup and invalid_reason = 'negative_quantity') as neg,
                count(*) filter (where not is_dup and invalid_reason = 'unparseable_timestamp') as bad_ts,
                count(*) filter (where not is_dup and op = 'delete') as deletes
            from landed group by seq
        ),
        sent as (select seq, count(*) as rows_sent from _sim group by seq)
        insert into {TRUTH_TABLE}
        select '{t}', '{t}-' || lpad(cast(b.seq as varchar), 6, '0'), b.seq,
            not b.stalled_flag, case when b.stalled_flag then null
                when l.status is not null then l.status end,
            coalesce(l.status = 'success' and coalesce(p.rows_landed, 0) = 0
                and coalesce(s.rows_sent, 0) > 0 and bm.missing, false),
            coalesce(l.status = 'partial', false), b.stalled_flag,
            coalesce(s.rows_sent, 0), coalesce(p.rows_landed, 0), coalesce(p.events_landed, 0),
            coalesce(p.duplicates, 0), coalesce(p.out_of_order, 0), coalesce(p.late, 0),
            coalesce(p.conflicts, 0), coalesce(p.null_key, 0), coalesce(p.bad_enum, 0),
            coalesce(p.neg, 0), coalesce(p.bad_ts, 0), coalesce(p.deletes, 0)
        from (select seq, seq >= {stalled_from} as stalled_flag
              from range({plan.first_seq}, {last_seq + 1}) as r(seq)) as b
        left join landing.sync_batches as l
            on l.batch_id = '{t}-' || lpad(cast(b.seq as varchar), 6, '0')
        left join (select distinct seq, missing from _sim) as bm on bm.seq = b.seq
        left join per_batch as p on p.seq = b.seq
        left join sent as s on s.seq = b.seq
    """
    con.execute(_sql(truth_sql, seed=seed, spaces=spaces))

    if table.extract:
        _refresh_extract(con, table, now_literal=plan.finish_expr(str(last_seq)))

    if any(a is table for a, _ in CONFLICT_PAIRS) and faults.conflict > 0:
        # Remember which events the partner system will shadow (see `companions` above).
        conflict_col = table.conflict_column
        con.execute(
            _sql(
                f"""
                create or replace temp table _sim_conflicts as
                select i as src_index, kn, _event_id as src_event_id,
                    {conflict_col} as src_value,
                    ts + to_microseconds(cast(120000000 * {_rand('cgap')} as bigint)) as ts
                from _sim
                where copy_no = 0 and op = 'upsert' and invalid_reason is null
                    and {_rand('conf')} < {faults.conflict}
                """,
                seed=seed,
                spaces=spaces,
            )
        )
    landed = con.execute("select count(*) from _sim where landed").fetchone()
    con.execute("drop table _sim")
    return int(landed[0]) if landed else 0


def extract_table(table: LandingTable) -> str:
    return f"landing.{table.name}__extract"


def _refresh_extract(con: duckdb.DuckDBPyConnection, table: LandingTable, now_literal: str) -> None:
    """The source's own full dump: the latest valid version of every live key.

    It knows every change the source made, including the ones whose batches never landed,
    so comparing it with the warehouse state reveals drift. Quarantined events are not part
    of it: what the source holds for them is unknowable from the landing zone.
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
            select {cols}, ts as updated_at, op = 'delete' as is_delete, _event_id
            from _sim
            where copy_no = 0 and invalid_reason is null
        )
        select * exclude (is_delete, _event_id), {now_literal} as _extracted_at
        from versions
        qualify row_number() over (
            partition by {keys} order by updated_at desc, is_delete desc, _event_id desc
        ) = 1 and not is_delete
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
    for table in LANDING_TABLES:
        interval = timedelta(minutes=table.batch_minutes)
        if params.append:
            row = existing[table.name]
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
        create_landing_tables(con)
        plans, seed, entities = _plan(con, params, now)
        spaces = KeySpaces.from_entities(entities)
        stalled_system = (
            SOURCE_SYSTEMS[seed % len(SOURCE_SYSTEMS)] if params.faults.stalled_system > 0 else None
        )
        volume_drop_table = (LANDING_TABLES[seed % len(LANDING_TABLES)].name
                             if params.faults.volume_drop > 0 else None)
        runs: list[TableRun] = []
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
                volume_drop=plan.table.name == volume_drop_table,
            )
            runs.append(TableRun(plan.table.name, params.batches, rows))
            if progress:
                progress(f"landing.{plan.table.name}: {rows:,} rows in {params.batches} batches")
            con.execute(
                f"""
                insert or replace into {STATE_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    plan.table.name, seed, entities, plan.per_batch, plan.table.batch_minutes,
                    plan.first_seq + params.batches,
                    plan.first_event + plan.per_batch * params.batches,
                    _finish(plan, plan.first_seq + params.batches - 1),
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
    )


def _finish(plan: _TablePlan, seq: int) -> datetime:
    return plan.base + timedelta(microseconds=(seq - plan.first_seq + 1) * plan.step_us)


TRUTH_COUNTS = (
    "rows_sent", "rows_landed", "events_landed", "duplicates", "out_of_order", "late",
    "conflicts", "invalid_null_key", "invalid_enum", "invalid_negative_quantity",
    "invalid_unparseable_timestamp", "deletes",
)


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
             "partial_batches": [], "stalled_batches": []},
        )
        for key in TRUTH_COUNTS:
            entry["totals"][key] += int(rec[key])
        entry["batches"][rec["batch_id"]] = {
            key: rec[key] for key in ("sequence_number", "in_ledger", "ledger_status", *TRUTH_COUNTS)
        }
        for flag in ("missing", "partial", "stalled"):
            if rec[flag]:
                entry[f"{flag}_batches"].append(rec["batch_id"])
    totals = dict.fromkeys(TRUTH_COUNTS, 0)
    for entry in tables.values():
        for key in TRUTH_COUNTS:
            totals[key] += entry["totals"][key]
    return {"format": "syncgov-simulate-truth/v1", "totals": totals, "tables": tables}
