"""audit.sync_delivery_log and audit.sync_dead_letters: what each delivery attempt sent, what
the target confirmed, and the rejected rows kept for the next attempt.

One delivery-log row per export per attempt (a dry run records nothing). `watermark_confirmed`
is the export's confirmed position: the next batch starts after the latest one, so a row is
behind it only once the target accepted it or it sits in the dead letters. A dead letter is
one rejected key of one export: `pending` rows are re-sent by key on every delivery until the
target accepts them (`delivered`) or they used up the export's attempts (`dead`, with the
owner to call). Column names are a contract with the operator tooling: add, never rename.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from datetime import datetime

from governance.warehouse import Connection
from governance.warehouse.connection import as_connection
from governance.warehouse.sql import placeholders

LOG_TABLE = "audit.sync_delivery_log"
DEAD_LETTER_TABLE = "audit.sync_dead_letters"

LOG_COLUMNS: tuple[tuple[str, str], ...] = (
    ("delivery_id", "varchar"),
    ("export_id", "varchar"),
    ("attempted_at", "timestamp"),
    ("batch_id", "varchar"),
    ("status", "varchar"),  # delivered | partial | failed | empty
    ("cause", "varchar"),  # null | target_rejection | target_unreachable | target_missing | internal
    ("watermark_from", "timestamp"),
    ("watermark_to", "timestamp"),
    ("watermark_confirmed", "timestamp"),
    ("rows_sent", "bigint"),
    ("rows_accepted", "bigint"),
    ("rows_rejected", "bigint"),
    ("rows_retried", "bigint"),
    ("rows_deleted", "bigint"),
    ("first_error", "varchar"),
    ("target_system", "varchar"),
    ("target_object", "varchar"),
    ("duration_seconds", "double"),
    ("engine", "varchar"),
)

DEAD_LETTER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("export_id", "varchar"),
    ("key", "varchar"),  # JSON array of the key values, as text
    ("reason", "varchar"),
    ("attempts", "bigint"),
    ("status", "varchar"),  # pending | dead | delivered
    ("owner", "varchar"),
    ("first_failed_at", "timestamp"),
    ("last_failed_at", "timestamp"),
    ("resolved_at", "timestamp"),
    ("last_delivery_id", "varchar"),
)


@dataclass(frozen=True)
class DeliveryLogRow:
    delivery_id: str
    export_id: str
    attempted_at: datetime
    batch_id: str | None
    status: str
    cause: str | None
    watermark_from: datetime | None
    watermark_to: datetime | None
    watermark_confirmed: datetime | None
    rows_sent: int
    rows_accepted: int
    rows_rejected: int
    rows_retried: int
    rows_deleted: int
    first_error: str | None
    target_system: str
    target_object: str
    duration_seconds: float
    engine: str


@dataclass(frozen=True)
class DeadLetter:
    key: tuple[str, ...]
    reason: str
    attempts: int
    status: str


def key_text(key: Iterable[object]) -> str:
    return json.dumps([None if v is None else str(v) for v in key])


def _ensure(con: Connection, table: str,
            columns: tuple[tuple[str, str], ...]) -> None:
    con = as_connection(con)
    con.execute("create schema if not exists audit")
    ddl = ",\n    ".join(f"{name} {kind}" for name, kind in columns)
    con.execute(f"create table if not exists {table} (\n    {ddl}\n)")
    present = {column for _, column, _ in con.columns("audit", table.split(".")[1])}
    for name, kind in columns:
        if name not in present:
            con.execute(f"alter table {table} add column {name} {kind}")


def ensure_tables(con: Connection) -> None:
    con = as_connection(con)
    _ensure(con, LOG_TABLE, LOG_COLUMNS)
    _ensure(con, DEAD_LETTER_TABLE, DEAD_LETTER_COLUMNS)


def confirmed_watermarks(con: Connection, export_ids: Iterable[str],
                         ) -> dict[str, datetime]:
    """The latest confirmed position of each export that has one (no table: none)."""
    con = as_connection(con)
    ids = list(export_ids)
    if not ids or not _exists(con, LOG_TABLE):
        return {}
    rows = con.execute(
        f"select export_id, max(watermark_confirmed) from {LOG_TABLE}"
        f" where export_id in {placeholders(ids)} and watermark_confirmed is not null"
        " group by export_id", ids).fetchall()
    return {r[0]: r[1] for r in rows}


def pending_dead_letters(con: Connection, export_id: str,
                         ) -> dict[tuple[str, ...], DeadLetter]:
    con = as_connection(con)
    if not _exists(con, DEAD_LETTER_TABLE):
        return {}
    rows = con.execute(
        f"select key, reason, attempts, status from {DEAD_LETTER_TABLE}"
        " where export_id = ? and status = 'pending'", [export_id]).fetchall()
    out = {}
    for key, reason, attempts, status in rows:
        k = tuple(json.loads(key))
        out[k] = DeadLetter(k, reason, int(attempts), status)
    return out


def record_attempt(con: Connection, row: DeliveryLogRow,
                   rejected: dict[tuple[str, ...], str], accepted: Sequence[tuple[str, ...]],
                   max_attempts: int, owner: str) -> None:
    """Append the attempt, then move dead letters: a rejected key gains an attempt (and turns
    `dead` at `max_attempts`), an accepted key that was pending is `delivered`."""
    con = as_connection(con)
    names = ", ".join(n for n, _ in LOG_COLUMNS)
    con.execute(f"insert into {LOG_TABLE} ({names}) values ("
                + ", ".join("?" for _ in LOG_COLUMNS) + ")", list(astuple(row)))
    at = row.attempted_at
    for key, reason in rejected.items():
        text = key_text(key)
        existing = con.execute(
            f"select attempts from {DEAD_LETTER_TABLE} where export_id = ? and key = ?"
            " and status in ('pending', 'dead')", [row.export_id, text]).fetchone()
        attempts = (int(existing[0]) if existing else 0) + 1
        status = "dead" if attempts >= max_attempts else "pending"
        if existing:
            con.execute(
                f"update {DEAD_LETTER_TABLE} set reason = ?, attempts = ?, status = ?,"
                " last_failed_at = ?, last_delivery_id = ?"
                " where export_id = ? and key = ? and status in ('pending', 'dead')",
                [reason, attempts, status, at, row.delivery_id, row.export_id, text])
        else:
            con.execute(
                f"insert into {DEAD_LETTER_TABLE} (export_id, key, reason, attempts, status,"
                " owner, first_failed_at, last_failed_at, resolved_at, last_delivery_id)"
                " values (?, ?, ?, ?, ?, ?, ?, ?, null, ?)",
                [row.export_id, text, reason, attempts, status, owner, at, at, row.delivery_id])
    if accepted:
        keys = [key_text(k) for k in accepted]
        con.execute(
            f"update {DEAD_LETTER_TABLE} set status = 'delivered', resolved_at = ?,"
            " last_delivery_id = ? where export_id = ? and status in ('pending', 'dead')"
            f" and key in {placeholders(keys)}",
            [at, row.delivery_id, row.export_id, *keys])


def _exists(con: Connection, table: str) -> bool:
    con = as_connection(con)
    schema, name = table.split(".")
    return con.relation_exists(schema, name)
