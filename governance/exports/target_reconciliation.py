"""Target reconciliation: read a PostgreSQL target back through its export's DSN and compare it
with the export model as of the last confirmed delivery.

The comparison covers the rows the target should hold by now: model rows whose change timestamp
is at or before the confirmed watermark and that are not pending in the dead letters (those are
known rejections, already visible). Both sides are reduced to the mapped columns, each value
normalised to text, and compared by row count, an order-independent checksum (the sum modulo
2^64 of each row's SHA-256 prefix, so row order never matters) and then per key: `missing`
(at the model, not at the target), `extra` (at the target, not in the model; only for exports
whose tombstones reach the target — with `on_delete: ignore` a deleted entity stays there by
design), `mismatch` (both hold the key, a value differs). Results go to
audit.sync_target_reconciliation (one row per export per run) and
audit.sync_target_differences (one row per differing key, capped per run).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from governance.exports import delivery_log
from governance.exports.delivery import (
    TargetError,
    connect_target,
    read_manifests,
    require_dsn,
)
from governance.exports.renderers import quote, source_relation
from governance.exports.renderers.drt import dsn_env
from governance.warehouse import Connection, Warehouse

SUMMARY_TABLE = "audit.sync_target_reconciliation"
DIFF_TABLE = "audit.sync_target_differences"
MAX_DIFFERENCES = 1000  # per export per run; the counts are always complete

SUMMARY_COLUMNS = (
    ("export_id", "varchar"), ("reconciled_at", "timestamp"), ("status", "varchar"),
    ("watermark", "timestamp"), ("rows_source", "bigint"), ("rows_target", "bigint"),
    ("checksum_source", "varchar"), ("checksum_target", "varchar"), ("missing", "bigint"),
    ("extra", "bigint"), ("mismatched", "bigint"), ("error", "varchar"),
    ("target_system", "varchar"), ("target_object", "varchar"),
)
DIFF_COLUMNS = (
    ("export_id", "varchar"), ("reconciled_at", "timestamp"), ("key", "varchar"),
    ("kind", "varchar"), ("columns", "varchar"),
)


@dataclass(frozen=True)
class TargetReconciliation:
    export_id: str
    status: str  # matched | drifted | unreachable | not_delivered
    watermark: datetime | None
    rows_source: int
    rows_target: int
    checksum_source: str
    checksum_target: str
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    mismatched: tuple[tuple[str, tuple[str, ...]], ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class ReconcileOptions:
    warehouse: Path
    exports_dir: Path
    select: tuple[str, ...] = ()
    environ: Mapping[str, str] | None = None  # None: the process environment
    now: datetime | None = None


def _norm(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    return str(value)


def checksum(rows: Mapping[str, tuple[str | None, ...]]) -> str:
    total = 0
    for key, values in rows.items():
        digest = hashlib.sha256(json.dumps([key, *values]).encode()).digest()
        total = (total + int.from_bytes(digest[:8], "big")) % (1 << 64)
    return f"{total:016x}"


def compare(source: Mapping[str, tuple], target: Mapping[str, tuple], columns: tuple[str, ...],
            tombstones_reach_target: bool) -> tuple[tuple[str, ...], tuple[str, ...],
                                                    tuple[tuple[str, tuple[str, ...]], ...]]:
    missing = tuple(sorted(set(source) - set(target)))
    extra = tuple(sorted(set(target) - set(source))) if tombstones_reach_target else ()
    mismatched = tuple(
        (k, tuple(c for c, a, b in zip(columns, source[k], target[k], strict=True) if a != b))
        for k in sorted(set(source) & set(target)) if source[k] != target[k])
    return missing, extra, mismatched


def reconcile_targets(options: ReconcileOptions) -> tuple[TargetReconciliation, ...]:
    """Reconcile every selected export that has a confirmed delivery, and record the results."""
    now = (options.now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    results = []
    for manifest in read_manifests(options.exports_dir, options.select):
        results.append(_reconcile_one(manifest, options))
    con = Warehouse.duckdb(options.warehouse).connect(read_only=False)
    try:
        _record(con, results, {m["export_id"]: m for m in
                               read_manifests(options.exports_dir, options.select)}, now)
    finally:
        con.close()
    return tuple(results)


def _reconcile_one(manifest: dict[str, Any], options: ReconcileOptions) -> TargetReconciliation:
    export_id = manifest["export_id"]
    destination = manifest["destination"]
    fields = manifest["fields"]
    keys = [k["source_column"] for k in destination["match_key"]]
    cursor = manifest["source"]["cursor_column"]
    columns = tuple(f["target_field"] for f in fields)
    con = Warehouse.duckdb(options.warehouse).connect()
    try:
        watermark = delivery_log.confirmed_watermarks(con, [export_id]).get(export_id)
        if watermark is None:
            return TargetReconciliation(export_id, "not_delivered", None, 0, 0, "", "")
        pending = delivery_log.pending_dead_letters(con, export_id)
        select = ", ".join(quote(f["source_column"]) for f in fields)
        rows = con.execute(f"select {select} from {source_relation(manifest)}"
                           f" where {quote(cursor)} <= ?", [watermark]).fetchall()
        newer = {r[0] for r in con.execute(
            f"select {' || chr(31) || '.join(f'cast({quote(k)} as varchar)' for k in keys)}"
            f" from {source_relation(manifest)} where {quote(cursor)} > ?",
            [watermark]).fetchall()}
    finally:
        con.close()
    key_pos = [[f["source_column"] for f in fields].index(k) for k in keys]
    skip = newer | {"\x1f".join(k) for k in pending}
    source = {}
    for r in rows:
        k = "\x1f".join(str(r[i]) for i in key_pos)
        if k not in skip:
            source[k] = tuple(_norm(v) for v in r)
    try:
        target = _read_target(manifest, require_dsn(
            (os.environ if options.environ is None else options.environ).get(
                dsn_env(destination["system"])), destination["system"]),
            key_pos, skip)
    except TargetError as exc:
        return TargetReconciliation(export_id, "unreachable", watermark, len(source), 0,
                                    checksum(source), "", error=str(exc))
    reaching = destination["mode"] == "mirror" or destination["delete_behaviour"] != "ignore"
    missing, extra, mismatched = compare(source, target, columns, reaching)
    if not reaching:  # deleted entities stay at the target by design: compare what both hold
        target = {k: v for k, v in target.items() if k in source}
    sums = (checksum(source), checksum(target))
    drifted = bool(missing or extra or mismatched) or sums[0] != sums[1]
    return TargetReconciliation(export_id, "drifted" if drifted else "matched", watermark,
                                len(source), len(target), *sums, missing, extra, mismatched)


def _read_target(manifest: dict[str, Any], dsn: str, key_pos: list[int], skip: set[str],
                 ) -> dict[str, tuple]:
    destination = manifest["destination"]
    soft = destination.get("soft_delete_column")
    con = connect_target(dsn)
    try:
        cur = con.cursor()
        cols = ", ".join(quote(f["target_field"]) for f in manifest["fields"])
        where = f" where {quote(soft)} is null" if soft else ""
        try:
            cur.execute(f"select {cols} from {quote(destination['object'])}{where}")
        except Exception as exc:  # a missing table or column: the target cannot be compared
            raise TargetError("target_missing", f"cannot read the target: {exc}".strip()) from exc
        out = {}
        for r in cur.fetchall():
            k = "\x1f".join(str(r[i]) for i in key_pos)
            if k not in skip:
                out[k] = tuple(_norm(v) for v in r)
        return out
    finally:
        con.close()


def _record(con: Connection, results: list[TargetReconciliation],
            manifests: dict[str, dict[str, Any]], now: datetime) -> None:
    con.execute("create schema if not exists audit")
    for table, columns in ((SUMMARY_TABLE, SUMMARY_COLUMNS), (DIFF_TABLE, DIFF_COLUMNS)):
        con.execute(f"create table if not exists {table} ("
                    + ", ".join(f"{n} {t}" for n, t in columns) + ")")
    for r in results:
        d = manifests[r.export_id]["destination"]
        con.execute(f"insert into {SUMMARY_TABLE} values ("
                    + ", ".join("?" for _ in SUMMARY_COLUMNS) + ")",
                    [r.export_id, now, r.status, r.watermark, r.rows_source, r.rows_target,
                     r.checksum_source, r.checksum_target, len(r.missing), len(r.extra),
                     len(r.mismatched), r.error, d["system"], d["object"]])
        diffs = ([(k, "missing", None) for k in r.missing]
                 + [(k, "extra", None) for k in r.extra]
                 + [(k, "mismatch", ",".join(c)) for k, c in r.mismatched])[:MAX_DIFFERENCES]
        for key, kind, cols in diffs:
            con.execute(f"insert into {DIFF_TABLE} values (?, ?, ?, ?, ?)",
                        [r.export_id, now, json.dumps(key.split("\x1f")), kind, cols])
