"""Issue 18: the simulator streams its events in bounded chunks and writes what it wrote before.

The landing zone of a run is compared, table by table and order-independently, with the golden
fingerprint taken from main's generator before the change (one pipeline over every event); the
working set is checked through the generator's own meter, not through timing or RSS, so the test
is as reliable on a loaded machine as on a quiet one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from landing_fingerprint import GOLDEN, NOW, fingerprint, reference_runs

from governance.errors import UsageError
from governance.simulate import SimulationParams, simulate
from governance.simulate.faults import DEMO_FAULTS, FaultRates


def _differences(expected: dict, actual: dict) -> dict[str, list[str]]:
    return {run: [t for t in sorted(set(expected[run]) | set(actual[run]))
                  if expected[run].get(t) != actual[run].get(t)]
            for run in expected}


def test_chunked_generation_writes_main_s_landing_zone(tmp_path: Path) -> None:
    """200k events, every demo fault, then an append that recovers half the stalled backlog.

    2,500 events a chunk splits the larger tables and the recovered backlog into several chunks,
    so each accumulator (ledger, truth, extract versions with their compaction, the shadowed
    events) is exercised across chunk boundaries; the companion events span several chunks in
    the next test.
    """
    golden = json.loads(GOLDEN.read_text())
    actual = reference_runs(tmp_path, chunk_events=2500)
    assert _differences(golden, actual) == {"first": [], "append": []}


# the demo's faults, but so many conflicts that the companion events span several chunks too
MANY_CONFLICTS = FaultRates(**(DEMO_FAULTS.as_dict() | {"conflict": 0.8}))


def _run(path: Path, events: int, chunk_events: int, faults: FaultRates = DEMO_FAULTS):
    return simulate(SimulationParams(
        warehouse=path, seed=3, now=NOW, entities=500, events=events, batches=12,
        faults=faults, chunk_events=chunk_events))


def test_the_chunk_size_changes_nothing_but_the_working_set(tmp_path: Path) -> None:
    whole = _run(tmp_path / "whole.duckdb", 20_000, 10**9, MANY_CONFLICTS)
    small = _run(tmp_path / "small.duckdb", 20_000, 700, MANY_CONFLICTS)
    assert fingerprint(tmp_path / "whole.duckdb", whole.truth_path) == \
        fingerprint(tmp_path / "small.duckdb", small.truth_path)
    assert whole.rows_landed == small.rows_landed
    # one chunk per table, plus one each for the two tables that get companion events
    assert whole.chunks == len(whole.tables) + 2
    assert small.chunks > 2 * whole.chunks
    assert small.max_chunk_rows < whole.max_chunk_rows / 5


def test_the_generator_never_holds_more_than_a_chunk(tmp_path: Path) -> None:
    """Twice the events, the same bound: the working set is a chunk, whatever --events is.

    A chunk holds at most `chunk_events` events with their copies (an identical resend and a
    conflicting one at most, at the demo's rates a few percent): 1.2x is the margin.
    """
    chunk_events = 1000
    bound = int(1.2 * chunk_events)
    one = _run(tmp_path / "one.duckdb", 15_000, chunk_events)
    two = _run(tmp_path / "two.duckdb", 30_000, chunk_events)
    assert one.max_chunk_rows <= bound
    assert two.max_chunk_rows <= bound
    assert two.chunks > one.chunks
    # the bound is a real one: every run lands far more rows than a chunk holds
    assert two.rows_landed > 20 * bound
    assert two.max_chunk_rows > chunk_events / 2  # and the meter measures something


def test_the_memory_limit_reaches_duckdb(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="memory limit 'lots'"):
        simulate(SimulationParams(warehouse=tmp_path / "w.duckdb", now=NOW, events=100,
                                  memory_limit="lots"))


def test_a_chunk_holds_at_least_one_event(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="chunk size"):
        simulate(SimulationParams(warehouse=tmp_path / "w.duckdb", now=NOW, events=100,
                                  chunk_events=0))
