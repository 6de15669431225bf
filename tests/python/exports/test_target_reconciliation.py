"""Target reconciliation's comparison: counts, an order-independent checksum, differing keys."""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from governance.exports.target_reconciliation import _norm, checksum, compare

COLUMNS = ("sku", "price")


def test_values_compare_after_normalising_types() -> None:
    assert _norm(Decimal("1.50")) == _norm(Decimal("1.5")) == "1.5"
    assert _norm(datetime(2026, 1, 1, 10, 0)) == "2026-01-01 10:00:00"
    assert _norm(None) is None


@given(st.dictionaries(st.text(max_size=5), st.tuples(st.text(max_size=3)), max_size=30),
       st.randoms())
def test_the_checksum_ignores_row_order(rows: dict, rnd: random.Random) -> None:
    items = list(rows.items())
    rnd.shuffle(items)
    assert checksum(dict(items)) == checksum(rows)


def test_the_checksum_sees_one_changed_value() -> None:
    assert checksum({"a": ("1",), "b": ("2",)}) != checksum({"a": ("1",), "b": ("3",)})


def test_differing_keys_are_missing_extra_or_mismatched() -> None:
    source = {"A": ("A", "1"), "B": ("B", "2"), "C": ("C", "3")}
    target = {"A": ("A", "1"), "B": ("B", "9"), "X": ("X", "0")}
    assert compare(source, target, COLUMNS, True) == (("C",), ("X",), (("B", ("price",)),))
    # with on_delete: ignore, a deleted entity staying at the target is by design
    assert compare(source, target, COLUMNS, False)[1] == ()
