"""Run the dbt-compiled SQL of staging, batch progress, state and dispositions on in-memory DuckDB.

dbt compiles every staging and per-source state model twice (incremental and full refresh),
plus `stg__staged_batches` and `sync_event_dispositions`; the harness then plays dbt's
materializations by hand — delete+insert on the unique key for staging, batch progress and
state, a table for the dispositions — so hundreds of examples run in seconds while the SQL
under test is exactly what dbt would execute. Only `crm__accounts` receives events; the other
landing tables stay empty but their models exist, because the dispositions read them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from governance.simulate.generator import create_landing_tables

STAGING = "syncgov.staging.stg_crm__accounts"
STATE = "syncgov.state.state_crm__accounts"
PROGRESS = "syncgov.staging.stg__staged_batches"
DISPOSITIONS = "syncgov.control.sync_event_dispositions"
KEY = "customer_id"
LIVE = {STAGING, STATE, PROGRESS, DISPOSITIONS}


@dataclass(frozen=True)
class Model:
    relation: str  # database.schema.identifier
    unique_key: str | None  # None: rebuilt as a table every run
    full: str
    incremental: str


@dataclass(frozen=True)
class CompiledSql:
    models: tuple[Model, ...]  # in dependency order

    def model(self, relation: str) -> Model:
        return next(m for m in self.models if m.relation == relation)


def _compiled(target: Path, folder: str, name: str) -> str:
    base = target / "compiled" / "syncgov" / "models" / folder
    return next(base.rglob(f"{name}.sql")).read_text()


def read_compiled(target: Path, landing_tables: list[dict]) -> dict[str, str]:
    """relation -> compiled SQL of every model the harness plays."""
    out: dict[str, str] = {}
    for t in landing_tables:
        name = f"{t['system']}__{t['entity']}"
        out[f"syncgov.staging.stg_{name}"] = _compiled(target, "staging", f"stg_{name}")
        out[f"syncgov.state.{t['state']}"] = _compiled(target, "state", t["state"])
    out[PROGRESS] = _compiled(target, "staging", "stg__staged_batches")
    out[DISPOSITIONS] = _compiled(target, "control", "sync_event_dispositions")
    return out


def build_models(full: dict[str, str], incremental: dict[str, str], landing_tables) -> CompiledSql:
    staging = [f"syncgov.staging.stg_{t['system']}__{t['entity']}" for t in landing_tables]
    states = [f"syncgov.state.{t['state']}" for t in landing_tables]
    keys = {f"syncgov.state.{t['state']}": t["key"] for t in landing_tables}
    models = [Model(r, "_event_id", full[r], incremental[r]) for r in staging]
    models.append(Model(PROGRESS, "progress_id", full[PROGRESS], incremental[PROGRESS]))
    models += [Model(r, keys[r], full[r], incremental[r]) for r in states]
    models.append(Model(DISPOSITIONS, None, full[DISPOSITIONS], full[DISPOSITIONS]))
    return CompiledSql(tuple(models))


@dataclass(frozen=True)
class LandedEvent:
    event_id: str
    customer_id: str
    op: str
    event_at: datetime
    account_name: str | None


class StateHarness:
    def __init__(self, sql: CompiledSql) -> None:
        self.sql = sql
        self.con = duckdb.connect()
        self.con.execute("set TimeZone = 'UTC'; attach ':memory:' as syncgov; use syncgov")
        self.con.execute("create schema staging; create schema state; create schema control")
        create_landing_tables(self.con)
        self._created = False

    def land(self, events: list[LandedEvent], loaded_at: datetime, batch_id: str) -> None:
        if not events:
            return
        self.con.executemany(
            "insert into landing.crm__accounts (account_id, account_name, segment, _event_id,"
            " _source_system, _op, _source_event_at, _loaded_at, _sync_batch_id)"
            " values (?, ?, 'smb', ?, 'crm', ?, ?, ?, ?)",
            [
                (e.customer_id, e.account_name, e.event_id, e.op,
                 e.event_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), loaded_at, batch_id)
                for e in events
            ],
        )

    def _exists(self, relation: str) -> bool:
        _db, schema, table = relation.split(".")
        return bool(self.con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0])

    def apply(self, dispositions: bool = True) -> None:
        """One `dbt run` of staging, batch progress and state (and the dispositions)."""
        for model in self.sql.models:
            if model.relation == DISPOSITIONS and not dispositions:
                continue
            target = model.relation
            if self._created and target not in LIVE:
                continue  # its landing table stays empty: nothing to apply
            if model.unique_key is None or not self._exists(target):
                self.con.execute(f"create or replace table {target} as ({model.full})")
                continue
            self.con.execute(f"create or replace temp table delta as ({model.incremental})")
            self.con.execute(
                f"delete from {target} where {model.unique_key} in"
                f" (select {model.unique_key} from delta)"
            )
            self.con.execute(f"insert into {target} by name (select * from delta)")
        self._created = True

    def apply_model(self, relation: str) -> None:
        """One model alone (as when a row lands between staging and the batch progress)."""
        model = self.sql.model(relation)
        self.con.execute(f"create or replace temp table delta as ({model.incremental})")
        self.con.execute(f"delete from {relation} where {model.unique_key} in"
                         f" (select {model.unique_key} from delta)")
        self.con.execute(f"insert into {relation} by name (select * from delta)")

    def state(self) -> dict[str, tuple]:
        rows = self.con.execute(
            f"select {KEY}, account_name, _is_deleted, _event_id, _source_event_at, _sync_batch_id,"
            f" _loaded_at from {STATE}"
        ).fetchall()
        return {r[0]: tuple(r[1:]) for r in rows}

    def fingerprint(self) -> tuple:
        return tuple(
            self.con.execute(f"select count(*), sum(hash(columns(*))) from {rel}").fetchone()
            for rel in (STAGING, STATE)
        )

    def staged_event_ids(self) -> list[str]:
        return [r[0] for r in self.con.execute(f"select _event_id from {STAGING}").fetchall()]

    def staged(self) -> dict[str, tuple]:
        """event id -> (batch id, loaded at) of the delivery staging holds."""
        rows = self.con.execute(f"select _event_id, _sync_batch_id, _loaded_at from {STAGING}")
        return {r[0]: (r[1], r[2]) for r in rows.fetchall()}

    def dispositions(self) -> list[tuple]:
        """(batch id, event id, disposition) of every landed crm__accounts row."""
        return self.con.execute(
            f"select _sync_batch_id, _event_id, disposition from {DISPOSITIONS}"
            " where landing_table = 'crm__accounts'"
        ).fetchall()

    def drop_staged(self, event_id: str) -> None:
        self.con.execute(f"delete from {STAGING} where _event_id = ?", [event_id])

