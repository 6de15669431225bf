"""audit.sync_export_log: the table the operator tooling reads, and the previous publication."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from governance.exports import audit_log
from governance.warehouse.connection import DuckDBConnection
from tests.export_log_contract import CONTRACT_TYPES

T0 = datetime(2026, 11, 24, 10, 0)


def _row(export_id: str, minutes: int, verdict: str, rows: int) -> audit_log.LogRow:
    return audit_log.LogRow(
        export_id=export_id, evaluated_at=T0 + timedelta(minutes=minutes), verdict=verdict,
        reasons=json.dumps([]), batch_id=f"{export_id}-{minutes}", watermark_from=None,
        watermark_to=T0 + timedelta(minutes=minutes - 1), rows_current=rows, rows_previous=None,
        manifest_path=f"/out/manifests/{export_id}.json", idempotency_key="0" * 32,
        rows_in_batch=rows, target_system="helpdesk", target_object="contacts", mode="upsert",
        effective_schedule="*/30 * * * *", retry_at=None, held_for=None, dbt_invocation_id="inv")


def test_the_table_has_the_contract_columns() -> None:
    con = DuckDBConnection(":memory:")
    audit_log.ensure_table(con)
    audit_log.ensure_table(con)  # idempotent
    types = dict(con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'audit' and table_name = 'sync_export_log'").fetchall())
    assert {k: types[k] for k in CONTRACT_TYPES} == CONTRACT_TYPES


def test_an_older_table_gains_the_missing_columns() -> None:
    con = DuckDBConnection(":memory:")
    con.execute("create schema audit")
    con.execute("create table audit.sync_export_log (export_id varchar, verdict varchar)")
    con.execute("insert into audit.sync_export_log values ('a', 'blocked')")
    audit_log.ensure_table(con)
    columns = [r[0] for r in con.execute("select * from audit.sync_export_log").description]
    assert columns[:2] == ["export_id", "verdict"]
    assert set(columns) == {name for name, _ in audit_log.COLUMNS}
    assert con.execute("select count(*) from audit.sync_export_log").fetchone()[0] == 1


def test_the_previous_publication_is_the_latest_released_one() -> None:
    con = DuckDBConnection(":memory:")
    audit_log.ensure_table(con)
    audit_log.record(con, [_row("a", 1, "publishable", 10), _row("a", 2, "warn", 11),
                           _row("a", 3, "blocked", 12), _row("b", 1, "blocked", 5)])
    previous = audit_log.previous_publications(con, ["a", "b", "c"])
    assert set(previous) == {"a"}
    assert previous["a"] == audit_log.Publication(T0 + timedelta(minutes=2), "a-2",
                                                  T0 + timedelta(minutes=1), 11)


def test_many_rows_are_recorded() -> None:
    con = DuckDBConnection(":memory:")
    audit_log.ensure_table(con)
    audit_log.record(con, [_row(f"e{i}", i, "warn", i) for i in range(600)])
    assert con.execute("select count(*), sum(rows_current) from audit.sync_export_log"
                       ).fetchone() == (600, sum(range(600)))
