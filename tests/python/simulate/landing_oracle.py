"""An independent reading of a landing zone by the staging contract, in plain Python.

It shares nothing with the generator's SQL: event keys, the canonical delivery, the payload
hash (Python's md5) and every validation rule, including the timestamp grammar and its UTC
conversion, are written out again here from the contract's text.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from governance.simulate.catalog import LandingTable

NULL = "\u2205"
FUTURE_TOLERANCE = timedelta(minutes=5)
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"(Z|[+-]\d{2}(?::\d{2})?|[+-]\d{4})?"
)
_INT = re.compile(r"[+-]?[0-9]+")
_MONEY = re.compile(r"[+-]?[0-9]+(\.[0-9]{1,2})?")


def parse_instant(text: str | None) -> tuple[datetime, timedelta] | None:
    """`text` as a naive UTC datetime and the offset it was written with, or None."""
    if text is None:
        return None
    m = _TIMESTAMP.fullmatch(text)
    if not m:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute),
                         int(second or 0), micros)
    except ValueError:
        return None
    offset = timedelta(0)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return local - offset, offset


def _valid_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) is not None


def payload_hash(row: dict, table: LandingTable) -> str:
    parts = [row[c] if row[c] is not None else NULL for c in sorted(table.columns)]
    parts += [row["_op"] if row["_op"] is not None else NULL,
              row["_source_event_at"] if row["_source_event_at"] is not None else NULL]
    return hashlib.md5("|".join(parts).encode()).hexdigest()


_PARSES: dict[str, tuple[str, Callable[[str], bool]]] = {
    "int": ("unparseable_number", lambda v: _INT.fullmatch(v) is not None),
    "money": ("unparseable_number", lambda v: _MONEY.fullmatch(v) is not None),
    "timestamp": ("unparseable_timestamp", lambda v: parse_instant(v) is not None),
    "date": ("unparseable_timestamp", _valid_date),
}


def _payload_failure(row: dict, table: LandingTable) -> str | None:
    """Checks 11-13, on upserts only: strict numbers and times, enums, quantities."""
    if row["_op"].lower() != "upsert":
        return None
    for col, kind in table.column_types.items():
        reason, parses = _PARSES[kind]
        if row[col] is not None and not parses(row[col]):
            return reason
    if any(row[c] is not None and row[c] not in allowed for c, allowed in table.enums.items()):
        return "invalid_enum"
    if table.quantity_column and int(row[table.quantity_column]) < 0:
        return "negative_quantity"
    return None


def quarantine_reason(row: dict, table: LandingTable, clock: datetime) -> str | None:
    """The first failing check of the contract, or None for a valid delivery."""
    limit = clock + FUTURE_TOLERANCE
    checks: list[tuple[str, Callable[[], bool]]] = [
        ("null_event_id", lambda: row["_event_id"] is None),
        ("null_loaded_at", lambda: row["_loaded_at"] is None),
        ("null_batch_id", lambda: row["_sync_batch_id"] is None),
        ("null_source_system", lambda: row["_source_system"] is None),
        ("wrong_source_system", lambda: row["_source_system"].lower() != table.system),
        ("future_loaded_at", lambda: row["_loaded_at"] > limit),
        ("null_key", lambda: any(row[k] is None for k in table.key_columns)),
        ("invalid_op", lambda: row["_op"] is None or row["_op"].lower() not in ("upsert", "delete")),
        ("unparseable_timestamp", lambda: parse_instant(row["_source_event_at"]) is None),
        ("future_event_at", lambda: parse_instant(row["_source_event_at"])[0] > limit),
    ]
    for reason, fails in checks:
        if fails():
            return reason
    return _payload_failure(row, table)


@dataclass
class Reading:
    """Counts per landing batch id (None: rows that arrived without one)."""

    per_batch: dict[str | None, Counter]

    @property
    def totals(self) -> Counter:
        out: Counter = Counter()
        for counts in self.per_batch.values():
            out.update(counts)
        return out


def read_table(con: duckdb.DuckDBPyConnection, table: LandingTable, clock: datetime) -> Reading:
    cur = con.execute(f"select * from landing.{table.name}")
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    events: dict[object, list[dict]] = defaultdict(list)
    for n, row in enumerate(rows):
        events[row["_event_id"] if row["_event_id"] is not None else ("no-id", n)].append(row)
    per_batch: dict[str | None, Counter] = defaultdict(Counter)

    def order(row: dict) -> tuple:
        return (row["_loaded_at"] is None, row["_loaded_at"] or datetime.min,
                row["_sync_batch_id"] is None, row["_sync_batch_id"] or "",
                payload_hash(row, table))

    for deliveries in events.values():
        canonical, *others = sorted(deliveries, key=order)
        counts = per_batch[canonical["_sync_batch_id"]]
        counts["rows_landed"] += 1
        counts["events_landed"] += 1
        reason = quarantine_reason(canonical, table, clock)
        if reason:
            counts[reason if reason.startswith("invalid_") else f"invalid_{reason}"] += 1
        instant = parse_instant(canonical["_source_event_at"])
        if instant and instant[1]:
            counts["offset_timestamps"] += 1
        for other in others:
            counts = per_batch[other["_sync_batch_id"]]
            counts["rows_landed"] += 1
            same = payload_hash(other, table) == payload_hash(canonical, table)
            counts["duplicates" if same else "conflicting_redeliveries"] += 1
    return Reading(dict(per_batch))
