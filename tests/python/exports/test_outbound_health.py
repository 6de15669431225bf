"""Outbound health rules on a real DuckDB holding the delivery, dead-letter, reconciliation and
export-log tables; time is an input."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import duckdb
import pytest
from export_inputs import STOREFRONT

from governance.exports import audit_log, delivery_log
from governance.exports.delivery_log import DeliveryLogRow
from governance.exports.outbound_health import outbound_health
from governance.warehouse.connection import DuckDBConnection

NOW = datetime(2026, 11, 24, 10, 5)  # storefront runs every ten minutes


def _attempt(con: duckdb.DuckDBPyConnection, status: str, cause: str | None, at: datetime,
             rejected: dict | None = None) -> None:
    delivery_log.record_attempt(con, DeliveryLogRow(
        at.isoformat(), STOREFRONT.export_id, at, "b", status, cause, None, at,
        at if status != "failed" else None, 1, 1, 0, 0, 0,
        "boom" if cause else None, "storefront", "product_availability", 0.1, "drt-core"),
        rejected or {}, [], 6, "data-platform")


def _verdict(con: duckdb.DuckDBPyConnection, verdict: str, checks: list[str],
             at: datetime) -> None:
    audit_log.ensure_table(con)
    names = ", ".join(n for n, _ in audit_log.COLUMNS)
    values = {n: None for n, _ in audit_log.COLUMNS} | {
        "export_id": STOREFRONT.export_id, "evaluated_at": at, "verdict": verdict,
        "reasons": json.dumps([{"check": c, "status": "block"} for c in checks])}
    con.execute(f"insert into {audit_log.TABLE} ({names}) values ("
                + ", ".join("?" for _ in values) + ")", list(values.values()))


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = DuckDBConnection(":memory:")
    delivery_log.ensure_tables(c)
    return c


def _health(con: duckdb.DuckDBPyConnection, now: datetime = NOW) -> tuple[str, str | None]:
    (h,) = outbound_health(con, [STOREFRONT], now)
    return h.status, h.cause


def test_a_recent_confirmed_delivery_is_current(con) -> None:
    _attempt(con, "delivered", None, NOW - timedelta(minutes=4))
    assert _health(con) == ("current", None)


def test_two_missed_runs_are_delayed(con) -> None:
    _attempt(con, "delivered", None, NOW - timedelta(minutes=4))
    assert _health(con, NOW + timedelta(minutes=16)) == ("delayed", "not_delivered")
    assert _health(con, NOW + timedelta(minutes=5)) == ("current", None)


def test_nothing_delivered_yet_is_delayed(con) -> None:
    assert _health(con) == ("delayed", "not_delivered")


def test_an_unreachable_target_is_failed_even_with_dead_letters(con) -> None:
    _attempt(con, "partial", "target_rejection", NOW - timedelta(minutes=9), {("S1",): "check"})
    _attempt(con, "failed", "target_unreachable", NOW - timedelta(minutes=1))
    assert _health(con) == ("failed", "target_unreachable")


def test_rejected_rows_are_partial_until_delivered(con) -> None:
    _attempt(con, "partial", "target_rejection", NOW - timedelta(minutes=1), {("S1",): "check"})
    assert _health(con) == ("partial", "target_rejection")
    _attempt(con, "delivered", None, NOW)
    delivery_log.record_attempt(con, DeliveryLogRow(
        "fix", STOREFRONT.export_id, NOW, "b", "delivered", None, None, NOW, NOW, 1, 1, 0, 1,
        0, None, "s", "o", 0.1, "drt-core"), {}, [("S1",)], 6, "data-platform")
    assert _health(con) == ("current", None)


def test_target_drift_is_partial(con) -> None:
    _attempt(con, "delivered", None, NOW - timedelta(minutes=1))
    con.execute("create table audit.sync_target_reconciliation (export_id varchar,"
                " reconciled_at timestamp, status varchar, missing bigint, extra bigint,"
                " mismatched bigint)")
    con.execute("insert into audit.sync_target_reconciliation values (?, ?, 'drifted', 1, 0, 0)",
                [STOREFRONT.export_id, NOW])
    assert _health(con) == ("partial", "target_drift")


@pytest.mark.parametrize(("checks", "cause"), [
    (["domain_status"], "source_not_current"), (["source_freshness"], "source_not_current"),
    (["dbt_tests"], "gate_blocked")])
def test_a_blocked_publication_is_delayed_with_its_cause(con, checks: list[str],
                                                         cause: str) -> None:
    _attempt(con, "delivered", None, NOW - timedelta(minutes=4))
    _verdict(con, "blocked", checks, NOW - timedelta(minutes=1))
    assert _health(con) == ("delayed", cause)
