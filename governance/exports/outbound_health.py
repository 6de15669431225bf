"""Outbound health: the status of every export as a sync flow out of the warehouse, with the
reason and its cause class, from the delivery log, the dead letters, the target reconciliation
and the export log.

In this order, the first that applies decides:
- `failed`: the latest delivery attempt could not reach the target, found its table missing or
  broke inside (cause `target_unreachable`, `target_missing`, `internal`);
- `partial`: the target rejected rows that are still pending or dead in the dead letters, or
  the latest target reconciliation found differences (cause `target_rejection`,
  `target_drift`);
- `delayed`: the latest evaluation was blocked (cause `source_not_current` when an upstream
  domain, its batches or its sources are not current, else `gate_blocked`), or the last
  confirmed delivery is older than the export's schedule allows: two scheduled runs have
  passed since (cause `not_delivered`), or there is none;
- `current` otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from governance.exports.delivery_log import DEAD_LETTER_TABLE, LOG_TABLE
from governance.exports.gates import next_run
from governance.exports.spec import ExportSpec, Registry
from governance.warehouse import Connection, Warehouse, as_warehouse
from governance.warehouse.connection import as_connection

SOURCE_CHECKS = frozenset({"domain_status", "unreconciled_batches", "source_freshness"})
RECONCILIATION_TABLE = "audit.sync_target_reconciliation"
EXPORT_LOG_TABLE = "audit.sync_export_log"


@dataclass(frozen=True)
class OutboundHealth:
    export_id: str
    target: str
    status: str  # current | delayed | partial | failed
    cause: str | None
    reason: str
    last_confirmed_at: datetime | None
    watermark_confirmed: datetime | None
    pending_dead_letters: int
    dead_letters: int
    owner: str


def _exists(con: Connection, table: str) -> bool:
    con = as_connection(con)
    schema, name = table.split(".")
    return con.relation_exists(schema, name)


def _latest(con: Connection, table: str, columns: str, at: str,
            export_id: str) -> tuple | None:
    con = as_connection(con)
    if not _exists(con, table):
        return None
    return con.execute(f"select {columns} from {table} where export_id = ?"
                       f" order by {at} desc limit 1", [export_id]).fetchone()


def outbound_health(con: Connection, specs: list[ExportSpec], now: datetime,
                    ) -> tuple[OutboundHealth, ...]:
    con = as_connection(con)
    return tuple(_one(con, spec, now) for spec in specs)


def _one(con: Connection, spec: ExportSpec, now: datetime,  # noqa: PLR0911
         ) -> OutboundHealth:  # one return per rule, in the order the module docstring gives
    target = f"{spec.target_system}.{spec.target_object}"
    attempt = _latest(con, LOG_TABLE, "status, cause, first_error, attempted_at",
                      "attempted_at", spec.export_id)
    confirmed = None
    if _exists(con, LOG_TABLE):
        confirmed = con.execute(
            f"select max(attempted_at), max(watermark_confirmed) from {LOG_TABLE}"
            " where export_id = ? and status in ('delivered', 'partial', 'empty')",
            [spec.export_id]).fetchone()
    last_at, watermark = confirmed if confirmed else (None, None)
    pending = dead = 0
    first_letter = None
    if _exists(con, DEAD_LETTER_TABLE):
        pending, dead, first_letter = con.execute(
            f"select count(*) filter (where status = 'pending'),"
            f" count(*) filter (where status = 'dead'),"
            f" min(reason) filter (where status in ('pending', 'dead'))"
            f" from {DEAD_LETTER_TABLE} where export_id = ?", [spec.export_id]).fetchone()
    recon = _latest(con, RECONCILIATION_TABLE, "status, missing, extra, mismatched",
                    "reconciled_at", spec.export_id)
    verdict = _latest(con, EXPORT_LOG_TABLE, "verdict, reasons, evaluated_at", "evaluated_at",
                      spec.export_id)

    def health(status: str, cause: str | None, reason: str) -> OutboundHealth:
        return OutboundHealth(spec.export_id, target, status, cause, reason, last_at, watermark,
                              int(pending), int(dead), spec.owners["technical"])

    if attempt and attempt[0] == "failed" and attempt[1] != "target_rejection":
        return health("failed", attempt[1], f"{target}: {attempt[2]}")
    if pending or dead:
        return health("partial", "target_rejection",
                      f"{target} rejected {pending + dead} row(s) ({pending} pending retry,"
                      f" {dead} dead, owner {spec.owners['technical']}): {first_letter}")
    if attempt and attempt[0] == "failed":
        return health("partial", "target_rejection", f"{target} rejected every row: {attempt[2]}")
    if recon and recon[0] == "drifted":
        return health("partial", "target_drift",
                      f"{target} differs from the export model: {recon[1]} missing,"
                      f" {recon[2]} extra, {recon[3]} mismatched")
    if verdict and verdict[0] == "blocked" and (last_at is None or verdict[2] >= last_at):
        checks = {r.get("check") for r in json.loads(verdict[1] or "[]")
                  if r.get("status") == "block"}
        cause = "source_not_current" if checks & SOURCE_CHECKS else "gate_blocked"
        return health("delayed", cause,
                      f"the gate blocked the latest publication ({', '.join(sorted(checks))})")
    if last_at is None:
        return health("delayed", "not_delivered", "no confirmed delivery yet")
    first = next_run(spec.schedule, last_at)
    due = next_run(spec.schedule, first) if first else None
    if due is not None and now > due:
        return health("delayed", "not_delivered",
                      f"last confirmed delivery {last_at.isoformat()}Z: two scheduled runs"
                      f" (`{spec.schedule}`) have passed since")
    return health("current", None, f"delivered and confirmed through {watermark}")


def read_outbound_health(warehouse: Warehouse | Path, registry: Registry, now: datetime,
                         ) -> tuple[OutboundHealth, ...]:
    """Outbound health of every declared export, from a read-only warehouse connection."""
    from governance.control_tables import connect  # noqa: PLC0415 - observe layer reads us
    from governance.exports.spec import export_specs  # noqa: PLC0415

    con = connect(as_warehouse(warehouse))
    try:
        return outbound_health(con, export_specs(registry), now)
    finally:
        con.close()


def to_json(rows: tuple[OutboundHealth, ...]) -> list[dict]:
    return [{
        "export": h.export_id, "target": h.target, "status": h.status, "cause": h.cause,
        "reason": h.reason,
        "last_confirmed_at": h.last_confirmed_at.isoformat() + "Z" if h.last_confirmed_at else None,
        "watermark_confirmed": (h.watermark_confirmed.isoformat() + "Z"
                                if h.watermark_confirmed else None),
        "pending_dead_letters": h.pending_dead_letters, "dead_letters": h.dead_letters,
        "owner": h.owner,
    } for h in rows]
