"""Delivery log and dead letters on a real DuckDB: attempts, the bound, delivery."""

from __future__ import annotations

from datetime import datetime, timedelta

from governance.exports import delivery_log
from governance.exports.delivery_log import DeliveryLogRow
from governance.warehouse.connection import DuckDBConnection

T0 = datetime(2026, 11, 24, 10, 0)


def _row(n: int, confirmed: datetime | None) -> DeliveryLogRow:
    return DeliveryLogRow(f"d{n}", "x", T0 + timedelta(minutes=n), "b", "partial",
                          "target_rejection", None, T0, confirmed, 3, 2, 1, 0, 0, "no", "s",
                          "o", 0.1, "drt-core")


def test_rejected_keys_retry_until_their_attempts_run_out() -> None:
    con = DuckDBConnection(":memory:")
    delivery_log.ensure_tables(con)
    for n in range(3):
        delivery_log.record_attempt(con, _row(n, T0), {("K1",): "constraint"}, [("K2",)], 3,
                                    "data-platform")
        pending = delivery_log.pending_dead_letters(con, "x")
        assert (list(pending) == [("K1",)]) is (n < 2)
    assert con.execute("select key, attempts, status, owner from audit.sync_dead_letters"
                       ).fetchall() == [('["K1"]', 3, "dead", "data-platform")]
    # a dead key accepted later is delivered, not left dead
    delivery_log.record_attempt(con, _row(3, T0), {}, [("K1",)], 3, "data-platform")
    assert con.execute("select status from audit.sync_dead_letters").fetchall() == [
        ("delivered",)]


def test_the_confirmed_watermark_is_the_latest_confirmed_position() -> None:
    con = DuckDBConnection(":memory:")
    assert delivery_log.confirmed_watermarks(con, ["x"]) == {}  # no table yet: none
    delivery_log.ensure_tables(con)
    delivery_log.record_attempt(con, _row(0, T0), {}, [], 3, "o")
    delivery_log.record_attempt(con, _row(1, None), {}, [], 3, "o")  # a failed attempt
    assert delivery_log.confirmed_watermarks(con, ["x", "y"]) == {"x": T0}
