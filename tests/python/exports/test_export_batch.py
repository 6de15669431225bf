"""Batches: the watermark window, its idempotency key, and when a batch is empty."""

from __future__ import annotations

from datetime import datetime, timedelta

from governance.exports.audit_log import Publication
from governance.exports.batch import plan_batch
from governance.exports.evidence import ModelStats

T0 = datetime(2026, 11, 24, 10, 0, 0, 250000)
T1 = T0 + timedelta(minutes=30)


def test_the_first_publication_offers_everything() -> None:
    batch = plan_batch("helpdesk_customers", "_changed_at", None, ModelStats(True, 40, T0), 40)
    assert (batch.watermark_from, batch.watermark_to, batch.rows_in_batch) == (None, T0, 40)
    assert batch.empty is False
    assert batch.batch_id == f"helpdesk_customers-20261124T100000-{batch.idempotency_key[:8]}"
    assert len(batch.idempotency_key) == 32


def test_the_next_window_starts_at_the_last_confirmed_delivery() -> None:
    previous = Publication(T0, "b0", T0, 40)
    batch = plan_batch("helpdesk_customers", "_changed_at", previous, ModelStats(True, 41, T1), 3,
                       confirmed=T0)
    assert (batch.watermark_from, batch.watermark_to, batch.rows_in_batch) == (T0, T1, 3)
    assert batch.empty is False


def test_a_publication_that_was_never_delivered_moves_nothing() -> None:
    # the demo's bug: `syncgov export` recorded a publication, nobody delivered it, and the
    # next window started at its watermark_to, so the first real delivery sent 0 rows
    previous = Publication(T1, "b1", T1, 41)
    batch = plan_batch("x", "_changed_at", previous, ModelStats(True, 41, T1), 41, confirmed=None)
    assert (batch.watermark_from, batch.watermark_to, batch.rows_in_batch) == (None, T1, 41)
    assert batch.empty is False


def test_nothing_changed_is_an_empty_batch_with_a_stable_key() -> None:
    previous = Publication(T1, "b1", T1, 41)
    first = plan_batch("x", "_changed_at", previous, ModelStats(True, 41, T1), 0, confirmed=T1)
    again = plan_batch("x", "_changed_at", previous, ModelStats(True, 41, T1), 0, confirmed=T1)
    assert first.empty is True
    assert first == again
    assert (first.watermark_from, first.watermark_to) == (T1, T1)


def test_a_deleted_row_makes_the_batch_non_empty() -> None:
    previous = Publication(T1, "b1", T1, 41)
    batch = plan_batch("x", "_changed_at", previous, ModelStats(True, 40, T1), 0, confirmed=T1)
    assert batch.empty is False
    assert batch.idempotency_key != plan_batch(
        "x", "_changed_at", previous, ModelStats(True, 41, T1), 0, confirmed=T1).idempotency_key


def test_the_watermark_never_moves_backwards() -> None:
    previous = Publication(T1, "b1", T1, 41)
    batch = plan_batch("x", "_changed_at", previous, ModelStats(True, 30, T0), 0, confirmed=T1)
    assert (batch.watermark_from, batch.watermark_to) == (T1, T1)


def test_different_windows_have_different_keys() -> None:
    a = plan_batch("x", "_changed_at", None, ModelStats(True, 41, T0), 41)
    b = plan_batch("x", "_changed_at", None, ModelStats(True, 41, T1), 41)
    c = plan_batch("y", "_changed_at", None, ModelStats(True, 41, T0), 41)
    assert len({a.idempotency_key, b.idempotency_key, c.idempotency_key}) == 3
