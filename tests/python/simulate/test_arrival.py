"""Arrival faults: late commits, a recovering stalled system, and determinism with them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from governance.simulate import SimulationParams, simulate
from governance.simulate.catalog import LANDING_TABLES
from governance.simulate.faults import FaultRates

NOW = datetime(2026, 11, 24, 12, 0, 0)
LATER = datetime(2026, 11, 24, 13, 0, 0)
LOOKBACK = timedelta(minutes=15)


def _first_run(wh: Path, faults: FaultRates, **kw) -> None:
    params = {"warehouse": wh, "seed": 5, "now": NOW, "entities": 200, "events": 4000,
              "batches": 6, "faults": faults} | kw
    simulate(SimulationParams(**params))


def _truth(wh: Path) -> dict:
    return json.loads(wh.with_name("simulate_truth.json").read_text())


def test_late_commits_land_20_minutes_2_hours_and_2_days_before_the_run(tmp_path: Path) -> None:
    wh = tmp_path / "w.duckdb"
    _first_run(wh, FaultRates())
    con = duckdb.connect(str(wh))
    previous = dict(con.execute(
        "select landing_table, max(finished_at) from landing.sync_batches group by 1"
    ).fetchall())
    newest_load = con.execute(
        "select max(_loaded_at) from (" + " union all ".join(
            f"select _loaded_at from landing.{t.name}" for t in LANDING_TABLES) + ")"
    ).fetchone()[0]
    con.close()
    simulate(SimulationParams(warehouse=wh, now=LATER, batches=4, append=True,
                              faults=FaultRates(late_commit=0.5)))
    late = {t: e["late_commit_batches"] for t, e in _truth(wh)["tables"].items()}
    assert {m for batches in late.values() for m in batches.values()} == {20, 120, 2880}
    con = duckdb.connect(str(wh), read_only=True)
    on_time = 0
    for table, batches in late.items():
        start = previous[table]  # this run's batch clock starts where the last one ended
        rows = con.execute(
            f"select b.batch_id, b.finished_at, min(l._loaded_at), max(l._loaded_at)"
            f" from landing.{table} as l join landing.sync_batches as b"
            f" on l._sync_batch_id = b.batch_id where b.finished_at > ? group by 1, 2",
            [start],
        ).fetchall()
        for batch_id, finished, first, last in rows:
            if batch_id in batches:
                assert first == last == start - timedelta(minutes=batches[batch_id]), batch_id
                assert last < newest_load - LOOKBACK, "older than the staged newest load"
                assert finished > start, "the ledger entry is as usual"
            else:
                on_time += 1
                assert first == last == finished, batch_id
    assert on_time > 0


def test_recovery_delivers_the_stalled_backlog_as_it_was_generated(tmp_path: Path) -> None:
    faults = FaultRates(duplicate=0.05, conflicting_redelivery=0.05, invalid=0.05,
                        null_metadata=0.02, conflict=0.05, stalled_system=0.5)
    wh = tmp_path / "w.duckdb"
    _first_run(wh, faults)
    stalled = {t: e["stalled_batches"] for t, e in _truth(wh)["tables"].items() if e["stalled_batches"]}
    assert stalled
    # The same landing zone as it would be had nothing stalled.
    reference = tmp_path / "ref" / "w.duckdb"
    _first_run(reference, FaultRates(**(faults.as_dict() | {"stalled_system": 0.0})))

    simulate(SimulationParams(warehouse=wh, now=LATER, batches=2, append=True,
                              faults=FaultRates(recovery=1.0)))
    truth = _truth(wh)
    con = duckdb.connect(str(wh), read_only=True)
    ref = duckdb.connect(str(reference), read_only=True)
    for table, batch_ids in stalled.items():
        assert truth["tables"][table]["recovered_batches"] == batch_ids
        assert truth["tables"][table]["stalled_batches"] == []
        seqs = [r[0] for r in con.execute(
            "select sequence_number from landing.sync_batches where landing_table = ? order by 1",
            [table],
        ).fetchall()]
        assert seqs == list(range(8)), "no gap in the sequence"
        marks = ", ".join("?" * len(batch_ids))
        for query in (f"select * from landing.{table} where _sync_batch_id in ({marks})",
                      f"select * from landing.sync_batches where batch_id in ({marks})"):
            got = sorted(con.execute(query, batch_ids).fetchall(), key=repr)
            want = sorted(ref.execute(query, batch_ids).fetchall(), key=repr)
            assert got == want, table
            assert got
        (backlog,) = con.execute(
            "select backlog_first_seq from landing._syncgov_simulator where landing_table = ?",
            [table],
        ).fetchone()
        assert backlog is None


def test_partial_recovery_leaves_the_newer_part_of_the_gap(tmp_path: Path) -> None:
    wh = tmp_path / "w.duckdb"
    _first_run(wh, FaultRates(stalled_system=0.5), batches=8)
    simulate(SimulationParams(warehouse=wh, now=LATER, batches=1, append=True,
                              faults=FaultRates(recovery=0.5)))
    truth = _truth(wh)
    table = next(t for t, e in truth["tables"].items() if e["recovered_batches"])
    entry = truth["tables"][table]
    assert [entry["batches"][b]["sequence_number"] for b in entry["recovered_batches"]] == [4, 5]
    assert [entry["batches"][b]["sequence_number"] for b in entry["stalled_batches"]] == [6, 7]
    con = duckdb.connect(str(wh), read_only=True)
    seqs = [r[0] for r in con.execute(
        "select sequence_number from landing.sync_batches where landing_table = ? order by 1",
        [table],
    ).fetchall()]
    assert seqs == [0, 1, 2, 3, 4, 5, 8]


def _fingerprint(wh: Path) -> dict[str, tuple]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        tables = [f"landing.{t.name}" for t in LANDING_TABLES]
        tables += ["landing.sync_batches", "landing._syncgov_truth"]
        return {
            t: con.execute(f"select count(*), sum(hash(columns(*))) from {t}").fetchone()
            for t in tables
        }
    finally:
        con.close()


def test_same_seed_and_now_give_identical_rows_through_append_and_recovery(tmp_path: Path) -> None:
    every = FaultRates(**dict.fromkeys(FaultRates().as_dict(), 0.05))
    prints = []
    for name in ("a", "b"):
        wh = tmp_path / name / "w.duckdb"
        _first_run(wh, FaultRates(**(every.as_dict() | {"stalled_system": 0.4})))
        simulate(SimulationParams(warehouse=wh, now=LATER, batches=2, append=True,
                                  faults=FaultRates(**(every.as_dict() | {"recovery": 0.5}))))
        prints.append(_fingerprint(wh))
    assert prints[0] == prints[1]
    assert prints[0]["landing.sync_batches"][0] > 0
