"""An independent model of the state tables, computed in Python from the raw landing rows.

It shares nothing with the dbt models but the landing contract: it picks each event's
canonical delivery (load time, batch id, payload hash), validates it with Python's own
parsers and the contract's rules in their order, and keeps the latest valid event per key, then assembles entities from
their sources the way DESIGN.md describes (system of record decides deletion; newest event
supplies the sync metadata).
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from governance.simulate.catalog import LANDING_TABLES, LandingTable

TABLES = {t.name: t for t in LANDING_TABLES}

# landing table -> (key name, column renames, typed columns)
KEYS = {
    "crm__accounts": "customer_id",
    "erp__customers": "customer_id",
    "pim__products": "sku",
    "erp__products": "sku",
    "erp__suppliers": "supplier_id",
    "srm__supplier_risk": "supplier_id",
    "wms__inventory_movements": "inventory_id",
    "oms__orders": "order_id",
    "oms__order_status_events": "order_id",
    "erp__invoices": "invoice_id",
}
TYPES = {
    "credit_limit": "money", "list_price": "money", "order_total": "money", "amount": "money",
    "risk_score": "int", "movement_qty": "int", "quantity_on_hand": "int",
    "ordered_at": "timestamp", "due_date": "date",
}


_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?"
)
_NUMBER = {"int": re.compile(r"[+-]?\d{1,18}"), "money": re.compile(r"[+-]?\d{1,16}(\.\d{1,2})?")}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# staging quarantines load and event times this far ahead of the build's clock
FUTURE_TOLERANCE = timedelta(minutes=5)
METADATA = ("_event_id", "_source_system", "_op", "_source_event_at", "_loaded_at", "_sync_batch_id")


def parse_ts(raw: str | None) -> datetime | None:
    """An ISO 8601 string in UTC (offsets applied; naive means UTC), or None if it is not one."""
    if not raw or not _TIMESTAMP.fullmatch(raw):
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def parses(column: str, raw: str) -> bool:
    kind = TYPES.get(column)
    if kind in _NUMBER:
        return bool(_NUMBER[kind].fullmatch(raw))
    if kind == "timestamp":
        return parse_ts(raw) is not None
    if kind == "date":
        if not _DATE.fullmatch(raw):
            return False
        try:
            date.fromisoformat(raw)
        except ValueError:
            return False
    return True


def typed(column: str, raw: str | None) -> Any:
    if raw is None:
        return None
    kind = TYPES.get(column)
    if kind == "money":
        return Decimal(raw).quantize(Decimal("0.01"))
    if kind == "int":
        return int(raw)
    if kind == "timestamp":
        return parse_ts(raw)
    if kind == "date":
        return date.fromisoformat(raw)
    return raw


def payload_hash(row: dict[str, Any]) -> str:
    """The landing contract's payload hash: landed columns by name, then op and event time."""
    names = sorted(c.lower() for c in row if c.lower() not in METADATA)
    parts = [row[c] if row[c] is not None else "\u2205" for c in names]
    parts += [row[c] if row[c] is not None else "\u2205" for c in ("_op", "_source_event_at")]
    return hashlib.md5("|".join(parts).encode()).hexdigest()


def delivery_rank(row: dict[str, Any]) -> tuple:
    """Canonical delivery first: load time, batch id (missing ones last), payload hash."""
    loaded, batch = row["_loaded_at"], row["_sync_batch_id"]
    return (loaded is None, loaded or datetime.min, batch is None, batch or "", payload_hash(row))


@dataclass(frozen=True)
class Event:
    key: str
    is_delete: bool
    event_id: str
    source_system: str
    event_at: datetime
    loaded_at: datetime
    batch_id: str
    values: dict[str, Any]

    @property
    def order(self) -> tuple:
        return (self.event_at, self.is_delete, self.event_id)


def quarantine_reason(table: LandingTable, row: dict[str, Any], now: datetime) -> str | None:  # noqa: PLR0911
    """The first rule of the landing contract the row breaks, or None when it is valid."""
    limit = now + FUTURE_TOLERANCE
    if row["_event_id"] is None:
        return "null_event_id"
    for column, reason in (("_loaded_at", "null_loaded_at"), ("_sync_batch_id", "null_batch_id"),
                           ("_source_system", "null_source_system")):
        if row[column] is None:
            return reason
    if row["_source_system"].lower() != table.system:
        return "wrong_source_system"
    if row["_loaded_at"] > limit:
        return "future_loaded_at"
    if any(row[k] is None for k in table.key_columns):
        return "null_key"
    op = (row["_op"] or "").lower()
    if op not in ("upsert", "delete"):
        return "invalid_op"
    event_at = parse_ts(row["_source_event_at"])
    if event_at is None:
        return "unparseable_timestamp"
    if event_at > limit:
        return "future_event_at"
    if op == "upsert":
        for col in table.payload:
            if row[col] is not None and not parses(col, row[col]):
                return "unparseable_timestamp" if TYPES[col] in ("timestamp", "date") else "unparseable_number"
        for col, accepted in table.enums.items():
            if row[col] is not None and row[col] not in accepted:
                return "invalid_enum"
        if table.quantity_column and int(row[table.quantity_column]) < 0:
            return "negative_quantity"
    return None


def canonical_rows(con: duckdb.DuckDBPyConnection, table_name: str) -> list[dict[str, Any]]:
    """The canonical delivery of every event of one landing table, from its raw rows."""
    table = TABLES[table_name]
    cur = con.execute(f"select * from landing.{table_name}")
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    first: dict[Any, dict[str, Any]] = {}
    for row in rows:
        # an event without an id is its own event (staging gives it a stable key)
        ident = row["_event_id"] if row["_event_id"] is not None else (
            "missing", row["_sync_batch_id"], row[table.key_columns[0]], row["_source_event_at"])
        if ident not in first or delivery_rank(row) < delivery_rank(first[ident]):
            first[ident] = row
    return list(first.values())


def latest_events(con: duckdb.DuckDBPyConnection, table_name: str,
                  now: datetime | None = None) -> dict[str, Event]:
    """Latest valid event per key of one landing table, from its raw rows."""
    table = TABLES[table_name]
    now = now or datetime.now(UTC).replace(tzinfo=None)
    latest: dict[str, Event] = {}
    for row in canonical_rows(con, table_name):
        if quarantine_reason(table, row, now) is not None:
            continue
        if table_name == "wms__inventory_movements":
            key = f"{row['sku']}:{row['site_id']}"
        else:
            key = row[table.key_columns[0]]
        is_delete = row["_op"].lower() == "delete"
        values = {c: (None if is_delete else typed(c, row[c])) for c in table.payload}
        if table_name == "wms__inventory_movements":
            values |= {"sku": row["sku"], "site_id": row["site_id"]}
        event = Event(key, is_delete, row["_event_id"], row["_source_system"],
                      parse_ts(row["_source_event_at"]), row["_loaded_at"], row["_sync_batch_id"],
                      values)
        if key not in latest or event.order > latest[key].order:
            latest[key] = event
    return latest


def expected_quarantine(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> dict[str, int]:
    """reason -> canonical deliveries that break it, over every landing table."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    out: dict[str, int] = {}
    for name, table in TABLES.items():
        for row in canonical_rows(con, name):
            reason = quarantine_reason(table, row, now)
            if reason is not None:
                out[reason] = out.get(reason, 0) + 1
    return out


META = ("_is_deleted", "_event_id", "_source_system", "_source_event_at", "_sync_batch_id")


def _single(events: dict[str, Event], columns: tuple[str, ...]) -> dict[str, tuple]:
    return {
        k: (*(e.values.get(c) for c in columns), e.is_delete, e.event_id, e.source_system,
            e.event_at, e.batch_id)
        for k, e in events.items()
    }


def _newest(events: list[Event | None], column: str | None = None) -> Event | None:
    """The source with the newest event (with `column`, the newest whose value is not null);
    ties go to the earlier source, i.e. the system of record."""
    best: Event | None = None
    for e in events:
        if e is None or (column is not None and e.values.get(column) is None):
            continue
        if best is None or e.event_at > best.event_at:
            best = e
    return best


def _combined(sources: list[tuple[dict[str, Event], tuple[str, ...]]],
              newer_cols: tuple[str, ...] = (), shared: tuple[str, ...] = (),
              policy: str = "system_of_record") -> dict[str, tuple]:
    """Fields from the source that provides them; the first source is the system of record
    (its tombstone deletes the entity, it owns the shared fields of the demo registry). Under
    latest_timestamp a shared field takes the newest non-null value."""
    out = {}
    keys = set().union(*(events.keys() for events, _ in sources))
    for key in keys:
        row = [events.get(key) for events, _ in sources]
        newest = _newest(row)
        assert newest is not None
        values = []
        for event, (_, cols) in zip(row, sources, strict=True):
            values += [event.values.get(c) if event else None for c in cols]
        values += [newest.values.get(c) for c in newer_cols]
        for c in shared:
            if policy == "latest_timestamp":
                winner = _newest(row, c)
                values.append(winner.values.get(c) if winner else None)
            else:
                values.append(row[0].values.get(c) if row[0] else None)
        primary = row[0]
        out[key] = (
            *values,
            primary.is_delete if primary else False,
            newest.event_id, newest.source_system, newest.event_at, newest.batch_id,
        )
    return out


# entity -> (key, business columns in state order, builder)
ENTITIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "customer_state": ("customer_id", ("account_name", "country", "segment", "credit_status",
                                       "credit_limit", "payment_terms", "billing_country",
                                       "preferred_channel", "email", "phone")),
    "product_state": ("sku", ("category", "lifecycle_status", "list_price", "currency",
                              "product_name")),
    "supplier_state": ("supplier_id", ("supplier_name", "country", "payment_terms", "risk_score",
                                       "risk_tier")),
    "order_state": ("order_id", ("customer_id", "order_total", "currency", "ordered_at",
                                 "status_reason", "order_status")),
    "inventory_state": ("inventory_id", ("sku", "site_id", "movement_type", "movement_qty",
                                         "quantity_on_hand")),
    "invoice_state": ("invoice_id", ("customer_id", "order_id", "invoice_status", "amount",
                                     "currency", "due_date")),
}


CORRECTIONS = Path(__file__).resolve().parents[2] / "seeds" / "manual_corrections.csv"


def effective_corrections(entity: str, now: datetime) -> dict[str, dict[str, str]]:
    """key -> field -> value of the approved corrections in force, latest per field."""
    with CORRECTIONS.open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle)
                if r["entity"] == entity and datetime.fromisoformat(r["effective_at"]) <= now]
    out: dict[str, dict[str, str]] = {}
    for r in sorted(rows, key=lambda r: (r["effective_at"], r["correction_id"])):
        out.setdefault(r["entity_key"], {})[r["field"]] = r["value"]
    return out


def expected_state(con: duckdb.DuckDBPyConnection, entity: str) -> dict[str, tuple]:
    _key, cols = ENTITIES[entity]
    rows = _expected_before_corrections(con, entity)
    now = datetime.now(UTC).replace(tzinfo=None)
    for key, fields in effective_corrections(entity.removesuffix("_state"), now).items():
        if key in rows:
            values = list(rows[key])
            for field, value in fields.items():
                values[cols.index(field)] = typed(field, value)
            rows[key] = tuple(values)
    return rows


def _expected_before_corrections(con: duckdb.DuckDBPyConnection, entity: str) -> dict[str, tuple]:
    _key, cols = ENTITIES[entity]
    ev = lambda t: latest_events(con, t)  # noqa: E731
    if entity == "customer_state":
        # the demo registry: CRM owns email and phone, customer conflicts go to manual review
        return _combined([(ev("crm__accounts"), cols[:3]), (ev("erp__customers"), cols[3:7]),
                          (ev("helpdesk__contacts"), cols[7:8])],
                         shared=("email", "phone"), policy="manual_review")
    if entity == "product_state":
        # PIM owns the product name; products resolve conflicts by latest timestamp
        return _combined([(ev("pim__products"), cols[:2]), (ev("erp__products"), cols[2:4])],
                         shared=("product_name",), policy="latest_timestamp")
    if entity == "supplier_state":
        return _combined([(ev("erp__suppliers"), cols[:3]), (ev("srm__supplier_risk"), cols[3:])])
    if entity == "order_state":
        return _combined([(ev("oms__orders"), cols[:4]), (ev("oms__order_status_events"), cols[4:5])],
                         newer_cols=cols[5:])
    if entity == "inventory_state":
        return _combined([(ev("wms__inventory_movements"), cols)])
    return _combined([(ev("erp__invoices"), cols)])


def actual_state(con: duckdb.DuckDBPyConnection, entity: str) -> dict[str, tuple]:
    key, cols = ENTITIES[entity]
    rows = con.execute(
        f"select {key}, {', '.join(cols)}, {', '.join(META)} from state.{entity}"
    ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def injected_reasons(totals: dict) -> dict[str, int]:
    """Quarantine reason -> events the simulator made invalid that way (truth file v2 keys)."""
    out = {}
    for key, n in totals.items():
        if key.startswith("invalid_") and n:
            out[key if key in ("invalid_enum", "invalid_op") else key.removeprefix("invalid_")] = n
    return out
