"""What the warehouse says about an export's inputs: domain health, open conflicts, and the
export model's size and newest change. Small reads only: aggregates the database computes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from governance.errors import InputError
from governance.exports.artifacts import SINCE_VAR, Built, NodeRun
from governance.warehouse import Connection, QueryError, Warehouse, as_warehouse

HEALTH_COLUMNS = ("domain", "status", "reason", "last_success_at", "staleness_minutes",
                  "rows_landed", "quarantined", "unreconciled_batches", "drifted_keys",
                  "evaluated_at")


@dataclass(frozen=True)
class DomainHealth:
    """A `domain` row of control.sync_health (as of the dbt build that computed it)."""

    domain: str
    status: str
    reason: str | None
    last_success_at: datetime | None
    staleness_minutes: float | None
    rows_landed: int
    quarantined: int
    unreconciled_batches: int
    drifted_keys: int
    evaluated_at: datetime | None = None  # when the dbt build computed the row

    @property
    def quarantine_ratio(self) -> float:
        return self.quarantined / self.rows_landed if self.rows_landed else 0.0


@dataclass(frozen=True)
class ModelStats:
    exists: bool
    rows: int
    max_cursor: datetime | None


class WarehouseEvidence:
    """Reads the control models and export models of a warehouse, each at most once."""

    def __init__(self, con: Connection) -> None:
        self.con = con
        self._stats: dict[tuple[str, str, str], ModelStats] = {}
        self._after: dict[tuple[str, str, str, datetime | None], int] = {}

    @classmethod
    def connect(cls, warehouse: Warehouse | Path) -> WarehouseEvidence:
        """A read-write connection: the gate appends its verdicts to audit.sync_export_log."""
        warehouse = as_warehouse(warehouse)
        if not warehouse.exists():
            raise InputError(f"{warehouse}: warehouse not found (run `syncgov simulate` and"
                             " `dbt build`, or pass --warehouse / --target)")
        return cls(warehouse.connect(read_only=False))

    def close(self) -> None:
        self.con.close()

    def _relation_exists(self, schema: str, name: str) -> bool:
        return self.con.relation_exists(schema, name)

    def domain_health(self) -> dict[str, DomainHealth]:
        if not self._relation_exists("control", "sync_health"):
            raise InputError("control.sync_health is not in the warehouse: run `dbt build`")
        rows = self.con.execute(
            f"select {', '.join(HEALTH_COLUMNS)} from control.sync_health where level = 'domain'"
        ).fetchall()
        return {
            r[0]: DomainHealth(r[0], r[1], r[2], r[3],
                               None if r[4] is None else float(r[4]),
                               int(r[5] or 0), int(r[6] or 0), int(r[7] or 0), int(r[8] or 0),
                               r[9])
            for r in rows
        }

    def latest_results(self) -> dict[str, NodeRun] | None:
        """Per node, its latest result across completed invocations (audit.sync_audit_log,
        written at the end of each dbt run); None when the warehouse has no audit log."""
        if not self._relation_exists("audit", "sync_audit_log"):
            return None
        rows = self.con.execute("""
            select node_id, status, message, invocation_id, recorded_at
            from audit.sync_audit_log
            where node_id is not null
            qualify row_number() over (partition by node_id
                                       order by recorded_at desc, invocation_id desc) = 1
        """).fetchall()
        return {r[0]: NodeRun(str(r[1]), r[2], r[3], r[4]) for r in rows}

    def latest_full_results(self) -> dict[str, NodeRun]:
        """Per node, its latest result from an invocation whose tests read whole tables: one
        without a delta scope among its recorded vars (governance/operate/delta_scope.py)."""
        if not self._relation_exists("audit", "sync_audit_log"):
            return {}
        rows = self.con.execute(f"""
            select node_id, status, message, invocation_id, recorded_at
            from audit.sync_audit_log
            where node_id is not null
              and (invocation_vars is null or invocation_vars not like '%"{SINCE_VAR}"%')
            qualify row_number() over (partition by node_id
                                       order by recorded_at desc, invocation_id desc) = 1
        """).fetchall()
        return {r[0]: NodeRun(str(r[1]), r[2], r[3], r[4]) for r in rows}

    def latest_builds(self) -> dict[str, Built]:
        """Per state and export model, the invocation that last replaced its rows
        (audit.sync_build_log, written by a post-hook while the build runs)."""
        if not self._relation_exists("audit", "sync_build_log"):
            return {}
        rows = self.con.execute("""
            select node_id, invocation_id, built_at from audit.sync_build_log
            qualify row_number() over (partition by node_id order by built_at desc) = 1
        """).fetchall()
        return {r[0]: Built(r[1], r[2]) for r in rows}

    def open_conflicts(self) -> dict[tuple[str, str], int]:
        """Open conflicts per (domain, field)."""
        if not self._relation_exists("control", "sync_conflicts"):
            raise InputError("control.sync_conflicts is not in the warehouse: run `dbt build`")
        return {(d, f): int(n) for d, f, n in self.con.execute(
            "select domain, field, count(*) from control.sync_conflicts"
            " where status = 'open' group by domain, field").fetchall()}

    def model_stats(self, schema: str, name: str, cursor: str) -> ModelStats:
        key = (schema, name, cursor)
        if key not in self._stats:
            if not self._relation_exists(schema, name):
                self._stats[key] = ModelStats(False, 0, None)
            else:
                q = self.con.quote
                try:
                    rows, newest = self.con.execute(
                        f"select count(*), max({q(cursor)}) from {q(schema)}.{q(name)}"
                    ).fetchone()
                except QueryError as exc:
                    raise InputError(f"cannot read {schema}.{name} ({exc})") from None
                self._stats[key] = ModelStats(True, int(rows), newest)
        return self._stats[key]

    def rows_after(self, schema: str, name: str, cursor: str, moment: datetime | None) -> int:
        """Rows whose cursor is after `moment` (all rows when it is None)."""
        stats = self.model_stats(schema, name, cursor)
        if not stats.exists or moment is None:
            return stats.rows
        key = (schema, name, cursor, moment)
        if key not in self._after:
            q = self.con.quote
            self._after[key] = int(self.con.execute(
                f"select count(*) from {q(schema)}.{q(name)} where {q(cursor)} > ?",
                [moment]).fetchone()[0])
        return self._after[key]
