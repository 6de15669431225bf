"""audit.sync_cycle_log: an intent row before a cycle or a replay touches the warehouse, an
outcome row after — so one that died part-way is visible until a later cycle completes.

Append-only, beside audit.sync_audit_log (dbt's node results) and audit.sync_export_log (gate
verdicts). Column names are a contract with `syncgov status`; add columns, never rename them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from governance.warehouse import Connection
from governance.warehouse.connection import as_connection

TABLE = "audit.sync_cycle_log"
STARTED = "started"
COMPLETED = ("ok", "findings")  # the cycle ran to its end (findings: blocked export, paging)
OUTCOMES = (*COMPLETED, "failed", "interrupted")

COLUMNS: tuple[tuple[str, str], ...] = (
    ("cycle_id", "varchar"),
    ("kind", "varchar"),  # run | replay
    ("selection", "varchar"),  # what it builds: job names, or `replay <domain> since <t>`
    ("event", "varchar"),  # started | ok | findings | failed | interrupted
    ("recorded_at", "timestamp"),
    ("detail", "varchar"),
    ("pid", "bigint"),
)


@dataclass(frozen=True)
class Unfinished:
    cycle_id: str
    kind: str
    selection: str
    started_at: datetime
    detail: str | None


def ensure_table(con: Connection) -> None:
    con = as_connection(con)
    con.execute("create schema if not exists audit")
    ddl = ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
    con.execute(f"create table if not exists {TABLE} ({ddl})")


def record(con: Connection, *, cycle_id: str, kind: str, selection: str,
           event: str, at: datetime, detail: str | None = None, pid: int | None = None) -> None:
    con = as_connection(con)
    ensure_table(con)
    con.execute(f"insert into {TABLE} values (?, ?, ?, ?, ?, ?, ?)",
                [cycle_id, kind, selection, event, at, detail, pid])


def table_exists(con: Connection) -> bool:
    con = as_connection(con)
    return con.relation_exists("audit", "sync_cycle_log")


def unfinished(con: Connection) -> tuple[Unfinished, ...]:
    """Cycles and replays that recorded their intent but no outcome and were not made good
    since: a run by any later complete run (it rebuilds what the dead one left half done), a
    replay only by a later complete replay of the same selection (a cycle does not replay)."""
    con = as_connection(con)
    if not table_exists(con):
        return ()
    rows = con.execute(f"""
        select s.cycle_id, s.kind, s.selection, s.recorded_at, s.detail
        from {TABLE} as s
        where s.event = '{STARTED}'
          and not exists (select 1 from {TABLE} as o
                          where o.cycle_id = s.cycle_id and o.event <> '{STARTED}')
          and not exists (select 1 from {TABLE} as later
                          where later.kind = s.kind
                            and later.event in ({", ".join(f"'{c}'" for c in COMPLETED)})
                            and later.recorded_at > s.recorded_at
                            and (s.kind = 'run' or later.selection = s.selection))
        order by s.recorded_at""").fetchall()
    return tuple(Unfinished(*r) for r in rows)


def describe(run: Unfinished) -> str:
    since = run.started_at.strftime("%Y-%m-%d %H:%M:%S")
    what = f"{run.kind} {run.selection}"
    hint = (" — re-run it (`syncgov replay` with the same options)" if run.kind == "replay"
            else " — the next complete cycle clears it")
    return f"unfinished {what} since {since} UTC (cycle {run.cycle_id}){hint}"
