"""The truth file against an independent reading of the landing rows (landing_oracle.py)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from governance.simulate import SimulationParams, simulate
from governance.simulate.catalog import LANDING_TABLES
from governance.simulate.faults import DEMO_FAULTS, FaultRates
from governance.simulate.generator import QUARANTINE_REASONS, truth_key
from tests.python.simulate.landing_oracle import parse_instant, read_table

NOW = datetime(2026, 11, 24, 12, 0, 0)
# Every fault at rates high enough to show in a small warehouse, recovery included.
HEAVY = FaultRates(
    duplicate=0.05, out_of_order=0.03, late=0.02, conflict=0.05, invalid=0.05,
    missing_batch=0.05, partial_batch=0.05, stalled_system=0.3, late_commit=0.2,
    future_loaded_at=0.01, future_event_at=0.01, offset_timestamps=0.05,
    conflicting_redelivery=0.05, null_metadata=0.02, wrong_source_system=0.01, recovery=0.5,
)
COMPARED = ("rows_landed", "events_landed", "duplicates", "conflicting_redeliveries",
            "offset_timestamps", *(truth_key(r) for r in QUARANTINE_REASONS))


@pytest.fixture(scope="module")
def heavy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A first run and an append that recovers half of the stalled backlog."""
    root = tmp_path_factory.mktemp("heavy")
    wh = root / "w.duckdb"
    simulate(SimulationParams(warehouse=wh, seed=11, now=NOW, entities=300, events=8000,
                              batches=8, faults=HEAVY))
    simulate(SimulationParams(warehouse=wh, now=datetime(2026, 11, 24, 13), batches=3,
                              faults=HEAVY, append=True))
    return wh, json.loads((root / "simulate_truth.json").read_text())


def test_truth_counts_equal_an_independent_reading_of_the_landing_rows(heavy) -> None:
    wh, truth = heavy
    con = duckdb.connect(str(wh), read_only=True)
    for table in LANDING_TABLES:
        entry = truth["tables"][table.name]
        reading = read_table(con, table, NOW.replace(hour=13))
        expected = {k: entry["totals"][k] for k in COMPARED}
        assert {k: reading.totals[k] for k in COMPARED} == expected, table.name
        assert reading.totals["rows_landed"] == entry["totals"]["events_landed"] + \
            entry["totals"]["duplicates"] + entry["totals"]["conflicting_redeliveries"]
        # per batch: rows that kept their batch id count where they say they landed
        for batch_id, counts in entry["batches"].items():
            got = reading.per_batch.get(batch_id, {})
            for key in COMPARED:
                if key in ("invalid_null_batch_id",):
                    continue
                want = counts[key]
                if key in ("rows_landed", "events_landed", "duplicates"):
                    # deliveries without a batch id are counted for their sender's batch
                    continue
                assert got.get(key, 0) == want, (batch_id, key)
            assert got.get("rows_landed", 0) == counts["rows_landed"] - counts["rows_null_batch_id"]
        (no_batch,) = con.execute(
            f"select count(*) from landing.{table.name} where _sync_batch_id is null"
        ).fetchone()
        assert no_batch == entry["totals"]["rows_null_batch_id"]
        assert reading.per_batch.get(None, {}).get("rows_landed", 0) == no_batch
    for key in COMPARED:
        assert truth["totals"][key] > 0, key


def test_every_quarantine_reason_shows_in_the_demo_preset(tmp_path: Path) -> None:
    wh = tmp_path / "w.duckdb"
    simulate(SimulationParams(warehouse=wh, seed=42, now=NOW, entities=1000, events=20_000,
                              batches=12, faults=DEMO_FAULTS))
    truth = json.loads((tmp_path / "simulate_truth.json").read_text())
    assert truth["format"] == "syncgov-simulate-truth/v2"
    con = duckdb.connect(str(wh), read_only=True)
    found = sum((read_table(con, t, NOW).totals for t in LANDING_TABLES), start=Counter())
    for reason in QUARANTINE_REASONS:
        assert truth["totals"][truth_key(reason)] == found[truth_key(reason)] > 0, reason
    for key in ("conflicting_redeliveries", "offset_timestamps", "rows_null_batch_id"):
        assert truth["totals"][key] > 0, key
    lags = {m for e in truth["tables"].values() for m in e["late_commit_batches"].values()}
    assert lags == {20, 120, 2880}
    assert not any(e["recovered_batches"] for e in truth["tables"].values())


def test_offset_timestamps_denote_the_same_instant(tmp_path: Path) -> None:
    """With and without the fault, every event happened at the same UTC instant."""
    instants = {}
    for name, rate in (("plain", 0.0), ("offset", 1.0)):
        wh = tmp_path / name / "w.duckdb"
        simulate(SimulationParams(warehouse=wh, seed=3, now=NOW, entities=100, events=2000,
                                  batches=4, faults=FaultRates(offset_timestamps=rate)))
        con = duckdb.connect(str(wh), read_only=True)
        rows = con.execute("select _event_id, _source_event_at from landing.oms__orders").fetchall()
        instants[name] = {e: parse_instant(ts) for e, ts in rows}
    assert instants["plain"].keys() == instants["offset"].keys()
    assert not any(off for _, off in instants["plain"].values())
    offsets = {off for _, off in instants["offset"].values()}
    assert len(offsets) == 4, offsets
    assert all(offsets), offsets
    assert {e: v[0] for e, v in instants["plain"].items()} == {
        e: v[0] for e, v in instants["offset"].items()
    }
