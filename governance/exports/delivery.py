"""Delivery: run each published export's drt sync for real, confirm every row at the target,
and only then move the export's watermark.

Per export whose latest manifest is publishable or warn (a blocked one is never delivered):
1. the window is (last confirmed watermark, manifest watermark_to] plus the keys of pending
   dead letters; the drt sync document is rendered with exactly that window in its SQL;
2. the target is checked: no DSN or no connection is `target_unreachable`; a missing table is
   created from the export model's contract when the registry marks the target `managed` or
   the caller asks for `init_targets`, else it is `target_missing` and nothing is sent;
3. drt runs the sync in-process (drt-core's `run_sync`, PostgreSQL destination, per-row
   savepoints), then syncgov reads the target back: a row is accepted when the target holds
   its key with the change timestamp that was sent; every other row is rejected, with drt's
   error for it as the reason;
4. the attempt goes to audit.sync_delivery_log, rejected keys to audit.sync_dead_letters; the
   confirmed watermark moves to the newest accepted row (never past the window, never back).

A dry run does steps 1 and 2 read-only and records nothing.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from governance.errors import InputError, UsageError
from governance.exports import delivery_log
from governance.exports.delivery_log import DeliveryLogRow
from governance.exports.manifest import iso
from governance.exports.renderers import plain_timestamp, quote
from governance.exports.renderers.drt import Window, dsn_env, model_sql, sync_document
from governance.exports.target_ddl import TargetTable, target_table
from governance.warehouse import Connection, QueryError, Warehouse

DELIVERED, PARTIAL, FAILED, EMPTY = "delivered", "partial", "failed", "empty"
TARGET_REJECTION = "target_rejection"
TARGET_UNREACHABLE = "target_unreachable"
TARGET_MISSING = "target_missing"
INTERNAL = "internal"
ENGINE = "drt-core"
_SYSTEM = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class DeliveryOptions:
    warehouse: Path
    exports_dir: Path  # `syncgov export --out`: index.json and manifests/
    target_dir: Path  # dbt artifacts: manifest.json gives the contract's column types
    select: tuple[str, ...] = ()
    dry_run: bool = False
    init_targets: bool = False
    # where SYNCGOV_<SYSTEM>_DSN is read; None: the process environment
    environ: Mapping[str, str] | None = None
    now: datetime | None = None


@dataclass(frozen=True)
class DeliveryOutcome:
    export_id: str
    target: str
    status: str  # delivered | partial | failed | empty | blocked | dry_run
    cause: str | None
    rows_sent: int
    rows_accepted: int
    rows_rejected: int
    rows_retried: int
    watermark_from: datetime | None
    watermark_to: datetime | None
    watermark_confirmed: datetime | None
    first_error: str | None
    created_table: bool = False
    rows_deleted: int = 0  # target rows a tombstone deleted or marked
    # per key: what the target confirmed, and why it refused the rest
    accepted_keys: tuple[tuple[str, ...], ...] = field(default=(), repr=False)
    rejected_keys: tuple[tuple[tuple[str, ...], str], ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class DeliveryReport:
    attempted_at: datetime
    dry_run: bool
    outcomes: tuple[DeliveryOutcome, ...]

    @property
    def failed(self) -> list[DeliveryOutcome]:
        return [o for o in self.outcomes if o.status in (FAILED, PARTIAL)]


class TargetError(Exception):
    def __init__(self, cause: str, message: str) -> None:
        super().__init__(message)
        self.cause = cause


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.removesuffix("Z")) if value else None


def read_manifests(exports_dir: Path, select: tuple[str, ...]) -> list[dict[str, Any]]:
    index_path = exports_dir / "index.json"
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {index_path}: run `syncgov export` first ({exc})") from exc
    listed = [e["export_id"] for e in index["exports"]]
    unknown = sorted(set(select) - set(listed))
    if unknown:
        raise UsageError(f"unknown export(s) {', '.join(unknown)}; published: {', '.join(listed)}")
    manifests = []
    for entry in index["exports"]:
        if select and entry["export_id"] not in select:
            continue
        path = exports_dir / entry["manifest"]
        try:
            manifests.append(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read manifest {path}: {exc}") from exc
    return manifests


def _dbt_nodes(target_dir: Path) -> dict[str, Any]:
    path = target_dir / "manifest.json"
    try:
        return json.loads(path.read_text())["nodes"]
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"cannot read dbt's {path}: {exc}") from exc


def _model_columns(nodes: dict[str, Any], unique_id: str | None) -> dict[str, Any]:
    node = nodes.get(unique_id or "")
    if node is None:
        raise InputError(f"{unique_id} is not in dbt's manifest.json: run `dbt build` first")
    return node.get("columns", {})


def _state_relation(nodes: dict[str, Any], manifest: dict[str, Any]) -> str | None:
    """The state model of the export's domain (`<domain>_state`), where tombstones live."""
    domain = manifest["lineage"]["domains"][0]
    for uid in manifest["lineage"]["models"]:
        node = nodes.get(uid)
        if node and node.get("name") == f"{domain}_state":
            return f"{quote(node['schema'])}.{quote(node.get('alias') or node['name'])}"
    return None


def deliver_exports(options: DeliveryOptions) -> DeliveryReport:
    """Deliver every selected published export; a rejected row or an unreachable target is an
    outcome, not an error. Raises InputError for unreadable manifests or dbt artifacts."""
    now = (options.now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    manifests = read_manifests(options.exports_dir, options.select)
    outcomes = []
    for manifest in manifests:
        if manifest["gate"]["verdict"] == "blocked":
            outcomes.append(_blocked(manifest))
            continue
        outcomes.append(_deliver_one(manifest, options, now))
    return DeliveryReport(now, options.dry_run, tuple(outcomes))


def _blocked(manifest: dict[str, Any]) -> DeliveryOutcome:
    d = manifest["destination"]
    return DeliveryOutcome(manifest["export_id"], f"{d['system']}.{d['object']}", "blocked",
                           "gate_blocked", 0, 0, 0, 0, None, None, None,
                           "the gate blocked this publication: nothing is delivered")


@dataclass(frozen=True)
class _Plan:
    window: Window
    lower: datetime | None
    upper: datetime | None
    rows: list[tuple]  # the rows drt will send, in select-list order
    key_index: tuple[int, ...]
    cursor_index: int
    retry: dict[tuple[str, ...], delivery_log.DeadLetter]


def _plan(con: Connection, manifest: dict[str, Any], record: bool) -> _Plan:
    export_id = manifest["export_id"]
    if record:
        delivery_log.ensure_tables(con)
    confirmed = delivery_log.confirmed_watermarks(con, [export_id]).get(export_id)
    upper = _dt(manifest["batch"]["watermark_to"])
    retry = delivery_log.pending_dead_letters(con, export_id)
    window = Window(plain_timestamp(iso(confirmed)) if confirmed else None,
                    plain_timestamp(manifest["batch"]["watermark_to"]), tuple(sorted(retry)))
    columns = [f["source_column"] for f in manifest["fields"]]
    keys = [k["source_column"] for k in manifest["destination"]["match_key"]]
    rows = con.execute(model_sql(manifest, window)).fetchall()
    return _Plan(window, confirmed, upper, rows, tuple(columns.index(k) for k in keys),
                 columns.index(manifest["source"]["cursor_column"]), retry)


def connect_target(dsn: str):
    import psycopg2  # noqa: PLC0415 - only a delivery needs the driver

    try:
        con = psycopg2.connect(dsn, connect_timeout=10)
    except psycopg2.Error as exc:
        raise TargetError(TARGET_UNREACHABLE, f"cannot connect to the target: {exc}".strip()) from exc
    con.autocommit = True
    return con


def _table_exists(cur: Any, table: str) -> bool:
    cur.execute("select to_regclass(%s) is not null", (quote(table),))
    return bool(cur.fetchone()[0])


def ensure_target(dsn: str, table: TargetTable, create: bool) -> bool:
    """True when the table was created now; TargetError when it is missing and not ours to
    create, or the target cannot be reached."""
    con = connect_target(dsn)
    try:
        cur = con.cursor()
        if _table_exists(cur, table.table):
            return False
        if not create:
            raise TargetError(TARGET_MISSING,
                               f"table {table.table} does not exist at the target: create it"
                               " (`syncgov deliver --init-targets` applies the DDL from the"
                               " export model's contract) or mark the target `managed`")
        cur.execute(table.ddl)
        return True
    finally:
        con.close()


def _run_drt(document: dict[str, Any], warehouse: Path, dsn: str, project_dir: Path) -> Any:
    """drt-core's engine in-process: the sync document, the DuckDB warehouse as source, the
    PostgreSQL destination with the DSN passed through the sync's env-var name."""
    from drt.config.models import SyncConfig  # noqa: PLC0415 - drt is heavy to import
    from drt.config.profiles import DuckDBProfile  # noqa: PLC0415
    from drt.connectors.registry import get_destination, get_source  # noqa: PLC0415
    from drt.engine.sync import run_sync  # noqa: PLC0415

    name = document["destination"]["connection_string_env"]
    saved = os.environ.get(name)
    os.environ[name] = dsn  # drt reads the DSN from its env var only
    try:
        sync = SyncConfig.model_validate(document)
        profile = DuckDBProfile(type="duckdb", database=str(warehouse))
        return run_sync(sync, get_source(profile), get_destination(sync.destination), profile,
                        project_dir)
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


def _preview_key(preview: str, key_fields: list[str]) -> tuple[str, ...] | None:
    """The key of a drt RowError from its record preview (a JSON prefix of the target row)."""
    values = []
    for name in key_fields:
        m = re.search(r'"' + re.escape(name) + r'": ("(?:[^"\\]|\\.)*"|[^,}]+)', preview)
        if not m:
            return None
        raw = json.loads(m[1]) if m[1].startswith('"') else m[1].strip()
        values.append(str(raw))
    return tuple(values)


def _confirm(dsn: str, manifest: dict[str, Any], plan: _Plan,
             ) -> dict[tuple[str, ...], Any]:
    """Key -> change timestamp the target holds now, for every key that was sent."""
    table = manifest["destination"]["object"]
    key_fields = [k["target_field"] for k in manifest["destination"]["match_key"]]
    cursor_field = next(f["target_field"] for f in manifest["fields"]
                        if f["source_column"] == manifest["source"]["cursor_column"])
    sent = [tuple(str(r[i]) for i in plan.key_index) for r in plan.rows]
    con = connect_target(dsn)
    try:
        cur = con.cursor()
        cols = ", ".join(f"{quote(k)}::text" for k in key_fields)
        held: dict[tuple[str, ...], Any] = {}
        one = "(" + ", ".join("%s" for _ in key_fields) + ")"
        for start in range(0, len(sent), 1000):
            chunk = sent[start:start + 1000]
            cur.execute(f"select {cols}, {quote(cursor_field)} from {quote(table)}"
                        f" where ({cols}) in ({', '.join(one for _ in chunk)})",
                        [v for k in chunk for v in k])
            held.update({tuple(r[:-1]): r[-1] for r in cur.fetchall()})
        return held
    finally:
        con.close()


def _tombstones(con: Connection, manifest: dict[str, Any], nodes: dict[str, Any],
                lower: datetime | None) -> list[tuple[tuple[str, ...], datetime]]:
    """Keys the warehouse tombstoned since the confirmed watermark, with when, for exports whose
    registry `on_delete` is `delete` or `soft_delete` (a mirror deletes through drt)."""
    destination = manifest["destination"]
    if destination["mode"] == "mirror" or destination["delete_behaviour"] == "ignore":
        return []
    relation = _state_relation(nodes, manifest)
    if relation is None:
        raise InputError(f"export {manifest['export_id']}: on_delete is"
                         f" {destination['delete_behaviour']}, but the state model of domain"
                         f" {manifest['lineage']['domains'][0]!r} is not upstream of its model")
    keys = ", ".join(f"cast({quote(k['source_column'])} as varchar)"
                     for k in destination["match_key"])
    rows = con.execute(f"select {keys}, _applied_at from {relation} where _is_deleted"
                       + (" and _applied_at > ?" if lower else ""),
                       [lower] if lower else []).fetchall()
    return [(tuple(r[:-1]), r[-1]) for r in rows]


def _with_tombstones(result: DeliveryOutcome, dsn: str, manifest: dict[str, Any],
                     tombstones: list[tuple[tuple[str, ...], datetime]],
                     lower: datetime | None) -> DeliveryOutcome:
    """Apply the tombstones; when the target refuses them the watermark stays, so the next
    delivery applies them again (the rows it re-sends are upserts of the same values)."""
    import psycopg2  # noqa: PLC0415

    try:
        return replace(result, rows_deleted=apply_tombstones(dsn, manifest, tombstones))
    except psycopg2.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return replace(result, status=PARTIAL, cause=TARGET_REJECTION, watermark_confirmed=lower,
                       first_error=f"tombstones not applied: {first}")


def apply_tombstones(dsn: str, manifest: dict[str, Any],
                     tombstones: list[tuple[tuple[str, ...], datetime]]) -> int:
    """Delete or mark the target rows of tombstoned keys; the count of rows changed (a key the
    target never held, or already marked, changes nothing)."""
    destination = manifest["destination"]
    table = quote(destination["object"])
    key = " and ".join(f"{quote(k['target_field'])}::text = %s" for k in destination["match_key"])
    soft = destination.get("soft_delete_column")
    con = connect_target(dsn)
    con.autocommit = False
    changed = 0
    try:
        cur = con.cursor()
        for values, deleted_at in tombstones:
            if destination["delete_behaviour"] == "soft_delete" and soft:
                cur.execute(f"update {table} set {quote(soft)} = %s where {key}"
                            f" and {quote(soft)} is null", [deleted_at, *values])
            else:
                cur.execute(f"delete from {table} where {key}", list(values))
            changed += cur.rowcount
        con.commit()
    finally:
        con.close()
    return changed


def _unchanged_mirror(manifest: dict[str, Any], plan: _Plan, dsn: str) -> bool:
    """A mirror sends the whole model; once confirmed, it is not re-sent while no row changed
    after the confirmed watermark and the target holds as many rows (re-sending would rewrite
    every target row)."""
    if manifest["destination"]["mode"] != "mirror" or plan.lower is None:
        return False
    if any(r[plan.cursor_index] > plan.lower for r in plan.rows):
        return False
    con = connect_target(dsn)
    try:
        cur = con.cursor()
        cur.execute(f"select count(*) from {quote(manifest['destination']['object'])}")
        return int(cur.fetchone()[0]) == len(plan.rows)
    finally:
        con.close()


def _open_warehouse(path: Path, *, read_only: bool) -> Connection:
    """Delivery runs on DuckDB only: drt reads the export model through its DuckDB source."""
    return Warehouse.duckdb(path).connect(read_only=read_only)


def require_dsn(dsn: str | None, system: str) -> str:
    if not dsn:
        raise TargetError(TARGET_UNREACHABLE,
                           f"{dsn_env(system)} is not set: no connection string for {system}")
    return dsn


def _deliver_one(manifest: dict[str, Any], options: DeliveryOptions, now: datetime,
                 ) -> DeliveryOutcome:
    started = time.monotonic()
    export_id = manifest["export_id"]
    destination = manifest["destination"]
    system = destination["system"]
    target = f"{system}.{destination['object']}"
    if not _SYSTEM.match(system):
        raise InputError(f"export {export_id}: target system {system!r} is not a plain identifier")
    nodes = _dbt_nodes(options.target_dir)
    table = target_table(manifest, _model_columns(nodes, manifest["source"]["dbt_unique_id"]))
    record = not options.dry_run
    con = _open_warehouse(options.warehouse, read_only=not record)
    try:
        plan = _plan(con, manifest, record)
        tombstones = _tombstones(con, manifest, nodes, plan.lower)
    except QueryError as exc:
        raise InputError(f"{options.warehouse}: cannot read export {export_id}'s model"
                         f" ({str(exc).strip().splitlines()[0]}); run `dbt build` and"
                         " `syncgov export` against this warehouse") from None
    finally:
        con.close()

    def outcome(status: str, cause: str | None, accepted: list[tuple], rejected: dict,
                confirmed: datetime | None, error: str | None, created: bool = False,
                ) -> DeliveryOutcome:
        sent = len(plan.rows) if status in (DELIVERED, PARTIAL, "dry_run") or (
            cause == TARGET_REJECTION) else 0
        return DeliveryOutcome(export_id, target, status, cause, sent, len(accepted),
                               len(rejected), len(plan.retry), plan.lower, plan.upper, confirmed,
                               error, created_table=created, accepted_keys=tuple(accepted),
                               rejected_keys=tuple(rejected.items()))

    dsn = (os.environ if options.environ is None else options.environ).get(dsn_env(system))
    created = False
    result: DeliveryOutcome
    try:
        dsn = require_dsn(dsn, system)
        created = ensure_target(dsn, table, create=(destination.get("managed", False)
                                                    or options.init_targets) and record)
        if options.dry_run:
            return outcome("dry_run", None, [], {}, plan.lower, None)
        if not plan.rows or _unchanged_mirror(manifest, plan, dsn):
            result = outcome(EMPTY, None, [], {}, plan.lower, None, created)
        else:
            result = _send(manifest, options, plan, dsn, outcome, created)
        if tombstones and result.status != FAILED:
            result = _with_tombstones(result, dsn, manifest, tombstones, plan.lower)
    except TargetError as exc:
        if options.dry_run:
            return outcome("dry_run", exc.cause, [], {}, plan.lower, str(exc))
        result = outcome(FAILED, exc.cause, [], {}, plan.lower, str(exc), created)
    _record(options, manifest, plan, result, now, time.monotonic() - started)
    return result


def _send(manifest: dict[str, Any], options: DeliveryOptions, plan: _Plan, dsn: str,
          outcome: Any, created: bool) -> DeliveryOutcome:
    key_fields = [k["target_field"] for k in manifest["destination"]["match_key"]]
    document = sync_document(manifest, plan.window)
    try:
        drt = _run_drt(document, options.warehouse, dsn, options.exports_dir)
    except Exception as exc:
        import psycopg2  # noqa: PLC0415

        cause = TARGET_UNREACHABLE if isinstance(exc, psycopg2.OperationalError) else INTERNAL
        raise TargetError(cause, f"drt: {type(exc).__name__}: {exc}".strip()) from exc
    reasons: dict[tuple[str, ...], str] = {}
    for error in drt.row_errors:
        key = _preview_key(error.record_preview, key_fields)
        if key is not None and key not in reasons:
            reasons[key] = error.error_message.strip().splitlines()[0][:500]
    held = _confirm(dsn, manifest, plan)
    accepted, rejected, newest = [], {}, plan.lower
    for row in plan.rows:
        key = tuple(str(row[i]) for i in plan.key_index)
        if held.get(key) == row[plan.cursor_index]:
            accepted.append(key)
            if plan.lower is None or row[plan.cursor_index] > plan.lower:
                newest = max(newest, row[plan.cursor_index]) if newest else row[plan.cursor_index]
        else:
            rejected[key] = reasons.get(key) or (drt.errors[0] if drt.errors else
                                                 "not at the target after the sync")
    if plan.upper is not None and newest is not None and newest > plan.upper:
        newest = plan.upper
    first = next(iter(rejected.values()), None)
    if not rejected:
        return outcome(DELIVERED, None, accepted, rejected, newest, None, created)
    status = PARTIAL if accepted else FAILED
    return outcome(status, TARGET_REJECTION, accepted, rejected, newest, first, created)


def _record(options: DeliveryOptions, manifest: dict[str, Any], plan: _Plan,
            result: DeliveryOutcome, now: datetime, seconds: float) -> None:
    destination = manifest["destination"]
    policy = manifest["error_policy"]
    row = DeliveryLogRow(
        delivery_id=uuid.uuid4().hex,
        export_id=result.export_id,
        attempted_at=now,
        batch_id=manifest["batch"]["batch_id"],
        status=result.status,
        cause=result.cause,
        watermark_from=plan.lower,
        watermark_to=plan.upper,
        watermark_confirmed=result.watermark_confirmed,
        rows_sent=result.rows_sent if result.cause != TARGET_UNREACHABLE else 0,
        rows_accepted=result.rows_accepted,
        rows_rejected=result.rows_rejected,
        rows_retried=result.rows_retried,
        rows_deleted=result.rows_deleted,
        first_error=result.first_error,
        target_system=destination["system"],
        target_object=destination["object"],
        duration_seconds=round(seconds, 3),
        engine=ENGINE,
    )
    owner = manifest["owners"]["technical"]
    con = _open_warehouse(options.warehouse, read_only=False)
    try:
        delivery_log.record_attempt(
            con, row, dict(result.rejected_keys), result.accepted_keys, policy["retries"] + 1,
            f"{owner['team']} ({owner['channel']})" if owner.get("channel") else owner["team"])
    finally:
        con.close()
