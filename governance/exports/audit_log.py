"""audit.sync_export_log: one row per export per evaluation — what was published when, with
which batch and watermark, and why something was held back.

The table sits beside audit.sync_audit_log (dbt's own runs). Its column names are a contract
with the operator tooling (`syncgov status` and friends) that reads it; add columns, never
rename them. The latest publishable or warn row of an export is its previous publication: the
next batch starts at its watermark_to and its rows_current is the row-count baseline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from datetime import datetime

from governance.warehouse import Connection
from governance.warehouse.connection import as_connection
from governance.warehouse.sql import placeholders

TABLE = "audit.sync_export_log"
PUBLISHED = ("publishable", "warn")

# name, DuckDB type — the contract columns first
COLUMNS: tuple[tuple[str, str], ...] = (
    ("export_id", "varchar"),
    ("evaluated_at", "timestamp"),
    ("verdict", "varchar"),
    ("reasons", "varchar"),
    ("batch_id", "varchar"),
    ("watermark_from", "timestamp"),
    ("watermark_to", "timestamp"),
    ("rows_current", "bigint"),
    ("rows_previous", "bigint"),
    ("manifest_path", "varchar"),
    ("idempotency_key", "varchar"),
    ("rows_in_batch", "bigint"),
    ("target_system", "varchar"),
    ("target_object", "varchar"),
    ("mode", "varchar"),
    ("effective_schedule", "varchar"),
    ("retry_at", "timestamp"),
    ("held_for", "varchar"),
    ("dbt_invocation_id", "varchar"),
)


@dataclass(frozen=True)
class LogRow:
    export_id: str
    evaluated_at: datetime
    verdict: str
    reasons: str  # JSON array of {check, observed, threshold, message, ...}
    batch_id: str
    watermark_from: datetime | None
    watermark_to: datetime | None
    rows_current: int
    rows_previous: int | None
    manifest_path: str
    idempotency_key: str
    rows_in_batch: int
    target_system: str
    target_object: str
    mode: str
    effective_schedule: str
    retry_at: datetime | None
    held_for: str | None  # comma-separated domains a `queue` rule holds the export for
    dbt_invocation_id: str | None


@dataclass(frozen=True)
class Publication:
    """The latest evaluation of an export that was released (publishable or warn)."""

    evaluated_at: datetime
    batch_id: str
    watermark_to: datetime | None
    rows_current: int


def ensure_table(con: Connection) -> None:
    """Create the schema and table when missing; add contract columns an older table lacks."""
    con = as_connection(con)
    con.execute("create schema if not exists audit")
    ddl = ",\n    ".join(f"{name} {kind}" for name, kind in COLUMNS)
    con.execute(f"create table if not exists {TABLE} (\n    {ddl}\n)")
    present = {column for _, column, _ in con.columns("audit", "sync_export_log")}
    for name, kind in COLUMNS:
        if name not in present:
            con.execute(f"alter table {TABLE} add column {name} {kind}")


def previous_publications(con: Connection, export_ids: Iterable[str],
                          ) -> dict[str, Publication]:
    con = as_connection(con)
    ids = list(export_ids)
    if not ids:
        return {}
    rows = con.execute(
        f"""
        select export_id, evaluated_at, batch_id, watermark_to, rows_current
        from {TABLE}
        where verdict in ('publishable', 'warn') and export_id in {placeholders(ids)}
        qualify row_number() over (partition by export_id order by evaluated_at desc) = 1
        """,
        ids,
    ).fetchall()
    return {r[0]: Publication(r[1], r[2], r[3], int(r[4] or 0)) for r in rows}


def record(con: Connection, rows: Sequence[LogRow]) -> None:
    """Append the rows a few hundred per statement (a 500-export run is two inserts)."""
    con = as_connection(con)
    names = ", ".join(name for name, _ in COLUMNS)
    one = "(" + ", ".join("?" for _ in COLUMNS) + ")"
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start:start + _ROWS_PER_INSERT]
        con.execute(f"insert into {TABLE} ({names}) values " + ", ".join(one for _ in chunk),
                    [value for r in chunk for value in astuple(r)])


_ROWS_PER_INSERT = 250
