"""Read what the warehouse's control models say now: health, SLO attainment, reconciliation,
drift, conflicts, quarantine and export verdicts, in one short read-only visit.

Only small control tables and aggregates that dbt already computed are read; the operator
surface (status, report, metrics) decides and formats, it never transforms warehouse data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from governance.errors import InputError
from governance.warehouse import (
    NO_WAREHOUSE_HINT,
    Connection,
    QueryError,
    Warehouse,
    as_warehouse,
)

# Conflicts listed one by one in the report; the rest are counted.
CONFLICT_SAMPLE = 25
UNRECONCILED_SAMPLE = 50


@dataclass(frozen=True)
class Health:
    """One row of control.sync_health (level `domain` or `flow`)."""

    level: str
    domain: str
    flow: str | None
    source_system: str | None
    criticality: str | None
    slo_minutes: int | None
    last_success_at: datetime | None
    last_success_batch_id: str | None
    latest_batch_status: str | None
    staleness_minutes: int | None
    latency_p50_minutes: float | None
    latency_p95_minutes: float | None
    rows_landed: int
    duplicates: int
    quarantined: int
    unreconciled_batches: int
    drifted_keys: int
    open_conflicts: int
    first_unreconciled: str | None
    evaluated_at: datetime | None
    status: str
    reason: str


@dataclass(frozen=True)
class Attainment:
    """One row of control.sync_slo_attainment: a domain over 7 or 30 days."""

    domain: str
    period_days: int
    observations: int
    current_observations: int
    attainment: float
    slo_target: float
    error_budget_burn: float


@dataclass(frozen=True)
class HealthObservation:
    """One row of control.sync_health_history: a domain's health at one dbt run."""

    domain: str
    evaluated_at: datetime
    status: str
    slo_minutes: int | None
    staleness_minutes: int | None
    latency_p95_minutes: float | None


@dataclass(frozen=True)
class Unreconciled:
    """A batch (or a gap in a batch sequence) that did not reconcile."""

    landing_table: str
    batch_id: str | None
    reconciliation_status: str
    rows_sent: int | None
    rows_landed: int | None
    finished_at: datetime | None


@dataclass(frozen=True)
class Drift:
    """One row of control.sync_drift_summary."""

    domain: str
    landing_table: str
    extracted_at: datetime | None
    missing_in_warehouse: int
    missing_in_source: int
    mismatched_keys: int
    mismatched_fields: int


@dataclass(frozen=True)
class ConflictGroup:
    """Open conflicts of one field written by a system that does not own it."""

    domain: str
    field: str
    owner_system: str
    other_system: str
    open_conflicts: int
    latest_at: datetime | None


@dataclass(frozen=True)
class Conflict:
    """One open conflict, for the steward's worklist."""

    conflict_id: str
    domain: str
    entity_key: str
    field: str
    owner_system: str
    owner_value: str | None
    other_system: str
    other_value: str | None
    other_event_at: datetime | None


@dataclass(frozen=True)
class QuarantineCount:
    domain: str
    landing_table: str
    reason: str
    events: int


@dataclass(frozen=True)
class ExportEvaluation:
    """The latest row of audit.sync_export_log for one export (written by `syncgov export`)."""

    export_id: str
    evaluated_at: datetime | None
    verdict: str
    reasons: tuple[dict[str, Any], ...]
    batch_id: str | None


@dataclass(frozen=True)
class ControlSnapshot:
    """Everything the operator surface shows, as read at one moment."""

    warehouse: str  # where it was read: a DuckDB file, or a Snowflake target
    health: tuple[Health, ...]
    attainment: tuple[Attainment, ...]
    history: tuple[HealthObservation, ...]
    reconciliation: dict[str, dict[str, int]]  # landing table -> status -> batches
    unreconciled: tuple[Unreconciled, ...]
    drift: tuple[Drift, ...]
    conflict_groups: tuple[ConflictGroup, ...]
    conflicts: tuple[Conflict, ...]  # the most recent open ones, at most CONFLICT_SAMPLE
    quarantine: tuple[QuarantineCount, ...]
    # None when audit.sync_export_log does not exist (no export has been evaluated yet)
    export_log: dict[str, ExportEvaluation] | None
    # landing table -> the anomaly of its latest judged batch (drop, spike) or None;
    # flows not judged yet (too little history, or no sync_volume_anomalies) are absent
    volume: dict[str, str | None] = field(default_factory=dict)

    @property
    def evaluated_at(self) -> datetime | None:
        return max((h.evaluated_at for h in self.health if h.evaluated_at), default=None)


def read_snapshot(warehouse: Warehouse | Path) -> ControlSnapshot:
    """Read the control tables of `warehouse`; InputError when they cannot be read."""
    warehouse = as_warehouse(warehouse)
    con = warehouse.connect()
    try:
        if not con.relation_exists("control", "sync_health"):
            raise InputError(f"{warehouse}: no control tables yet; {NO_WAREHOUSE_HINT}")
        try:
            return _read(con, warehouse)
        except QueryError as exc:
            raise InputError(f"{warehouse}: cannot read the control tables ({exc});"
                             " run `dbt build` to bring them up to date") from None
    finally:
        con.close()


def connect(warehouse: Warehouse | Path) -> Connection:
    """A read-only connection, or InputError naming what to do."""
    return as_warehouse(warehouse).connect()


def _exists(con: Connection, schema: str, table: str) -> bool:
    return con.relation_exists(schema, table)


def _rows(con: Connection, cls: type, sql: str) -> tuple:
    """Rows of `sql` as `cls` instances; the query selects the dataclass's fields in order."""
    return tuple(cls(*row) for row in con.execute(sql).fetchall())


def _read(con: Connection, warehouse: Warehouse) -> ControlSnapshot:
    health_cols = ", ".join(f.name for f in fields(Health))
    health = _rows(con, Health, f"""
        select {health_cols} from control.sync_health
        order by domain, level desc, flow""")
    attainment = _rows(con, Attainment, """
        select domain, period_days, observations, current_observations,
               cast(attainment as double), cast(slo_target as double),
               cast(error_budget_burn as double)
        from control.sync_slo_attainment order by domain, period_days""") \
        if _exists(con, "control", "sync_slo_attainment") else ()
    history = _rows(con, HealthObservation, """
        select domain, evaluated_at, status, slo_minutes, staleness_minutes, latency_p95_minutes
        from control.sync_health_history
        where evaluated_at >= (select max(evaluated_at) from control.sync_health_history)
                             - interval 30 day
        order by domain, evaluated_at""") \
        if _exists(con, "control", "sync_health_history") else ()
    reconciliation: dict[str, dict[str, int]] = {}
    for table, status, n in con.execute("""
            select landing_table, reconciliation_status, count(*) from control.sync_reconciliation
            group by 1, 2 order by 1, 2""").fetchall():
        reconciliation.setdefault(table, {})[status] = int(n)
    unreconciled = _rows(con, Unreconciled, f"""
        select landing_table, batch_id, reconciliation_status, rows_sent, rows_landed, finished_at
        from control.sync_reconciliation where not is_reconciled
        order by finished_at desc nulls last, landing_table, batch_id
        limit {UNRECONCILED_SAMPLE}""")
    drift = _rows(con, Drift, """
        select domain, landing_table, extracted_at, missing_in_warehouse, missing_in_source,
               mismatched_keys, mismatched_fields
        from control.sync_drift_summary order by domain, landing_table""")
    conflict_groups = _rows(con, ConflictGroup, """
        select domain, field, owner_system, other_system, count(*), max(other_event_at)
        from control.sync_conflicts where status = 'open'
        group by 1, 2, 3, 4 order by 5 desc, 1, 2""")
    conflicts = _rows(con, Conflict, f"""
        select conflict_id, domain, entity_key, field, owner_system,
               cast(owner_value as varchar), other_system, cast(other_value as varchar),
               other_event_at
        from control.sync_conflicts where status = 'open'
        order by other_event_at desc, conflict_id limit {CONFLICT_SAMPLE}""")
    quarantine = _rows(con, QuarantineCount, """
        select domain, landing_table, _quarantine_reason, count(*)
        from staging.stg__quarantine group by 1, 2, 3 order by 4 desc, 1, 2, 3""")
    return ControlSnapshot(
        warehouse=str(warehouse),
        health=health,
        attainment=attainment,
        history=history,
        reconciliation=reconciliation,
        unreconciled=unreconciled,
        drift=drift,
        conflict_groups=conflict_groups,
        conflicts=conflicts,
        quarantine=quarantine,
        export_log=_export_log(con),
        volume=dict(con.execute("""
            select landing_table, anomaly from control.sync_volume_anomalies
            where is_latest and baseline_kind is not null""").fetchall())
        if _exists(con, "control", "sync_volume_anomalies") else {},
    )


def _export_log(con: Connection) -> dict[str, ExportEvaluation] | None:
    """The latest verdict per export from audit.sync_export_log, or None without the table."""
    if not _exists(con, "audit", "sync_export_log"):
        return None
    latest = con.execute("""
        select export_id, evaluated_at, verdict, reasons, batch_id
        from audit.sync_export_log
        qualify row_number() over (partition by export_id order by evaluated_at desc) = 1
        order by export_id""").fetchall()
    return {
        export_id: ExportEvaluation(export_id, evaluated_at, str(verdict),
                                    parse_reasons(reasons), batch_id)
        for export_id, evaluated_at, verdict, reasons, batch_id in latest
    }


def parse_reasons(raw: object) -> tuple[dict[str, Any], ...]:
    """The gate's reasons (a JSON array of objects with check, observed, threshold, message).

    Anything else is kept as one reason whose message is the raw text, so an unexpected value
    is shown rather than lost or fatal.
    """
    if raw is None or raw == "":
        return ()
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return ({"check": "unparsed", "message": raw},)
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return ({"check": "unparsed", "message": str(raw)},)
    return tuple(
        item if isinstance(item, dict) else {"check": "unparsed", "message": str(item)}
        for item in value
    )


def read_dispositions(warehouse: Warehouse | Path) -> dict[str, dict[str, int]]:
    """Landed rows per landing table and disposition (control.sync_event_dispositions), for
    lineage facets; read only on demand, since it aggregates every landed row."""
    warehouse = as_warehouse(warehouse)
    con = connect(warehouse)
    try:
        if not _exists(con, "control", "sync_event_dispositions"):
            return {}
        rows = con.execute("""
            select landing_table, disposition, count(*) from control.sync_event_dispositions
            group by 1, 2 order by 1, 2""").fetchall()
    except QueryError as exc:
        raise InputError(f"{warehouse}: cannot read control.sync_event_dispositions"
                         f" ({exc})") from None
    finally:
        con.close()
    out: dict[str, dict[str, int]] = {}
    for table, disposition, n in rows:
        out.setdefault(table, {})[disposition] = int(n)
    return out
