"""Run the dbt-compiled staging and state SQL of one landing table against in-memory DuckDB.

dbt compiles `stg_crm__accounts` and `state_crm__accounts` twice (incremental and full
refresh); the harness then plays dbt's materializations by hand — append for staging,
delete+insert on the unique key for state — so hundreds of examples run in seconds while the
SQL under test is exactly what dbt would execute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from governance.simulate.generator import create_landing_tables

STAGING = "syncgov.staging.stg_crm__accounts"
STATE = "syncgov.state.state_crm__accounts"
KEY = "customer_id"


@dataclass(frozen=True)
class CompiledSql:
    staging_full: str
    staging_incremental: str
    state_full: str
    state_incremental: str


def read_compiled(target: Path) -> tuple[str, str]:
    base = target / "compiled" / "syncgov" / "models"
    return (
        (base / "staging" / "crm" / "stg_crm__accounts.sql").read_text(),
        (base / "state" / "by_source" / "state_crm__accounts.sql").read_text(),
    )


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
        self.con.execute("create schema staging; create schema state")
        create_landing_tables(self.con)

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
        schema, table = relation.split(".")[1:]
        return bool(self.con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0])

    def apply(self) -> None:
        """One `dbt run` of staging then state, as dbt-duckdb would materialize them."""
        if self._exists(STAGING):
            self.con.execute(f"insert into {STAGING} by name ({self.sql.staging_incremental})")
        else:
            self.con.execute(f"create table {STAGING} as ({self.sql.staging_full})")
        if self._exists(STATE):
            self.con.execute(f"create or replace temp table delta as ({self.sql.state_incremental})")
            self.con.execute(f"delete from {STATE} where {KEY} in (select {KEY} from delta)")
            self.con.execute(f"insert into {STATE} by name (select * from delta)")
        else:
            self.con.execute(f"create table {STATE} as ({self.sql.state_full})")

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

    def dispositions_by_batch(self) -> dict[str, dict[str, int]]:
        """Per landing batch: how many rows were duplicates, quarantined, applied, superseded.

        Read off the harness's own outputs: a row whose staged copy came from another delivery
        is a duplicate; a staged event the state holds is applied; any other staged event must
        have lost to a strictly newer event for its key (asserted by the caller).
        """
        rows = self.con.execute(
            f"""
            with landed as (
                select _event_id, _sync_batch_id, _loaded_at,
                    row_number() over (partition by _event_id order by _loaded_at, _sync_batch_id)
                        as delivery
                from landing.crm__accounts
            )
            select
                landed._sync_batch_id,
                case
                    when landed.delivery > 1 then 'duplicate'
                    when staged._quarantine_reason is not null then 'quarantined'
                    when held._event_id is not null then 'applied'
                    else 'superseded'
                end,
                count(*)
            from landed
            left join {STAGING} as staged on staged._event_id = landed._event_id
            left join {STATE} as held on held._event_id = landed._event_id and landed.delivery = 1
            group by all
            """
        ).fetchall()
        out: dict[str, dict[str, int]] = {}
        for batch, disposition, n in rows:
            out.setdefault(batch, {})[disposition] = n
        return out

    def superseded_losers(self) -> list[tuple]:
        """Staged valid events not held by state whose key's stored event is not newer."""
        return self.con.execute(
            f"""
            select staged._event_id, held._event_id
            from {STAGING} as staged
            left join {STATE} as held on held.{KEY} = staged.{KEY}
            where staged._quarantine_reason is null
                and staged._event_id != coalesce(held._event_id, '')
                and (held._event_id is null
                     or (held._source_event_at, held._is_deleted, held._event_id)
                        <= (staged._source_event_at, staged._op = 'delete', staged._event_id))
            """
        ).fetchall()
