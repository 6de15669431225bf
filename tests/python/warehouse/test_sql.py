"""syncgov's own SQL, written once and rendered for each engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlglot

from governance.warehouse.sql import placeholders, quote, render_snowflake


def test_values_are_inlined_as_typed_snowflake_literals() -> None:
    sql = render_snowflake(
        "select * from audit.sync_export_log where export_id = ? and evaluated_at > ?"
        " and rows_current > ? and held_for is ?",
        ["o'brien", datetime(2026, 1, 2, 3, 4, 5, 6), 7, None])
    assert sql == ("SELECT * FROM audit.sync_export_log WHERE export_id = 'o\\'brien'"
                   " AND evaluated_at > CAST('2026-01-02 03:04:05.000006' AS TIMESTAMPNTZ)"
                   " AND rows_current > 7 AND held_for IS NULL")
    strings = {lit.this for lit in sqlglot.parse_one(sql, read="snowflake").find_all(
        sqlglot.exp.Literal) if lit.is_string}
    assert "o'brien" in strings


def test_an_aware_moment_is_sent_as_utc_wall_clock() -> None:
    at = datetime(2026, 1, 2, 5, 0, tzinfo=timezone(timedelta(hours=2)))
    assert "'2026-01-02 03:00:00'" in render_snowflake("select ?", [at])
    assert "'2026-01-02 03:00:00'" in render_snowflake("select ?", [at.astimezone(UTC)])


def test_duckdb_forms_become_snowflake_forms() -> None:
    sql = render_snowflake(
        "select count(*) filter (where status = 'dead') from t"
        " where at >= (select max(at) from t) - interval 30 day"
        " qualify row_number() over (partition by k order by at desc) = 1")
    assert "COUNT_IF(status = 'dead')" in sql
    assert "INTERVAL '30 DAY'" in sql
    assert "QUALIFY ROW_NUMBER()" in sql
    ddl = render_snowflake("create table if not exists audit.x (a varchar, b timestamp, c bigint)")
    assert ddl == "CREATE TABLE IF NOT EXISTS audit.x (a VARCHAR, b TIMESTAMPNTZ, c BIGINT)"


def test_placeholders_and_values_must_match() -> None:
    with pytest.raises(TypeError, match="1 placeholders for 2 values"):
        render_snowflake("select ?", [1, 2])
    with pytest.raises(TypeError, match="more placeholders than values"):
        render_snowflake("select ?, ?, ?", [1, 2])
    ids = ["a", "b", "c"]
    assert render_snowflake(f"select 1 where x in {placeholders(ids)}", ids) == \
        "SELECT 1 WHERE x IN ('a', 'b', 'c')"


def test_identifiers_are_quoted_as_each_engine_stores_dbt_names() -> None:
    assert quote("sync_health", "duckdb") == '"sync_health"'
    assert quote("sync_health", "snowflake") == '"SYNC_HEALTH"'
    assert quote('odd"name', "duckdb") == '"odd""name"'
