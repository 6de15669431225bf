"""Invariants of DESIGN.md §6 as properties: idempotent, order-free, replayable.

Random small event streams (duplicates, ties, deletes, out-of-order times) are cut into
batches that arrive in any order. After every arrival the state must equal an oracle — the
latest distinct event per key — and at the end equal a full refresh; landing any batch again,
or running with nothing new, must change nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.simulate import SimulationParams, simulate
from governance.simulate.generator import create_landing_tables
from tests.e2e.conftest import Warehouse
from tests.e2e.state_harness import (
    CompiledSql,
    LandedEvent,
    StateHarness,
    read_compiled,
)

pytestmark = pytest.mark.xdist_group("properties")

T0 = datetime(2026, 11, 24, 8, 0, 0)


@pytest.fixture(scope="module")
def compiled_sql(project_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> CompiledSql:
    """Compile the two models against a real warehouse so `is_incremental()` is true."""
    wh = Warehouse(project_dir, tmp_path_factory.mktemp("compile"))
    simulate(SimulationParams(warehouse=wh.path, events=300, entities=20, batches=2))
    wh.dbt("run", "--select", "stg_crm__accounts", "state_crm__accounts")
    wh.dbt("compile", "--select", "stg_crm__accounts", "state_crm__accounts")
    staging_inc, state_inc = read_compiled(wh.target)
    wh.dbt("compile", "--full-refresh", "--select", "stg_crm__accounts", "state_crm__accounts")
    staging_full, state_full = read_compiled(wh.target)
    assert "not exists" in staging_inc
    assert "not exists" not in staging_full
    assert "_is_stored" in state_inc
    assert "_is_stored" not in state_full
    return CompiledSql(staging_full, staging_inc, state_full, state_inc)


@st.composite
def event_streams(draw: st.DrawFn) -> tuple[list[LandedEvent], list[list[int]], list[int]]:
    n = draw(st.integers(min_value=1, max_value=14))
    events = [
        LandedEvent(
            event_id=f"e{i:02d}",
            customer_id=draw(st.sampled_from(["C1", "C2", "C3"])),
            op=draw(st.sampled_from(["upsert", "upsert", "delete"])),
            # few distinct minutes: ties and out-of-order events are common
            event_at=T0 + timedelta(minutes=draw(st.integers(0, 4))),
            account_name=draw(st.sampled_from(["Acme", "Globex", "Initech"])),
        )
        for i in range(n)
    ]
    n_batches = draw(st.integers(min_value=1, max_value=4))
    batches: list[list[int]] = [[] for _ in range(n_batches)]
    for i in range(n):
        batches[draw(st.integers(0, n_batches - 1))].append(i)
        if draw(st.booleans()) and draw(st.booleans()):  # a retry redelivers it, anywhere
            batches[draw(st.integers(0, n_batches - 1))].append(i)
    arrival = draw(st.permutations(range(n_batches)))
    return events, batches, list(arrival)


def oracle(events: list[LandedEvent]) -> dict[str, tuple]:
    """Latest distinct event per key: newest time, then delete over upsert, then greater id."""
    latest: dict[str, LandedEvent] = {}
    for e in {e.event_id: e for e in events}.values():
        rank = (e.event_at, e.op == "delete", e.event_id)
        cur = latest.get(e.customer_id)
        if cur is None or rank > (cur.event_at, cur.op == "delete", cur.event_id):
            latest[e.customer_id] = e
    return {
        k: (None if e.op == "delete" else e.account_name, e.op == "delete", e.event_id, e.event_at)
        for k, e in latest.items()
    }


def business(state: dict[str, tuple]) -> dict[str, tuple]:
    return {k: v[:4] for k, v in state.items()}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=event_streams(), gap_minutes=st.sampled_from([1, 45, 120]))
def test_incremental_state_converges_whatever_the_arrival_order(
    compiled_sql: CompiledSql, stream, gap_minutes: int
) -> None:
    events, batches, arrival = stream
    harness = StateHarness(compiled_sql)
    landed: list[LandedEvent] = []
    loads: list[tuple[list[LandedEvent], datetime, str]] = []
    for step, b in enumerate(arrival):
        batch = [events[i] for i in batches[b]]
        loaded_at = T0 + timedelta(hours=1, minutes=gap_minutes * step)
        harness.land(batch, loaded_at, f"b{b}")
        loads.append((batch, loaded_at, f"b{b}"))
        harness.apply()
        landed += batch
        # order-free and accounted: after every arrival, state is the oracle of what landed
        assert business(harness.state()) == oracle(landed)
        staged = harness.staged_event_ids()
        assert sorted(staged) == sorted({e.event_id for e in landed}), "dedupe by event id"

    # accounted: every landed row is applied, superseded, duplicate or quarantined — applied
    # events are exactly the state's rows, duplicates exactly the redeliveries, and every
    # superseded event lost to a strictly newer event for its key
    totals: Counter[str] = Counter()
    for per_batch in harness.dispositions_by_batch().values():
        totals.update(per_batch)
    assert totals["applied"] == len(harness.state())
    assert totals["duplicate"] == len(landed) - len({e.event_id for e in landed})
    assert sum(totals.values()) == len(landed)
    assert harness.superseded_losers() == []

    # idempotent: nothing new, then the same batch again, change nothing at all
    before = harness.fingerprint()
    harness.apply()
    assert harness.fingerprint() == before
    batch, _, batch_id = loads[0]
    harness.land(batch, T0 + timedelta(days=1), batch_id)
    harness.apply()
    assert harness.fingerprint() == before

    # replayable: a full refresh over the same landing log gives the same rows
    full = StateHarness(compiled_sql)
    for batch, loaded_at, batch_id in loads:
        full.land(batch, loaded_at, batch_id)
    full.apply()
    assert full.state() == harness.state()


@pytest.mark.slow
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=event_streams())
def test_real_incremental_dbt_runs_converge(project_dir: Path, tmp_path_factory, stream) -> None:
    """The same property through real `dbt run`s on a DuckDB file, a few examples only."""
    events, batches, arrival = stream
    wh = Warehouse(project_dir, tmp_path_factory.mktemp("real"))
    con = duckdb.connect(str(wh.path))
    create_landing_tables(con)
    con.close()
    landed: list[LandedEvent] = []
    for step, b in enumerate(arrival):
        batch = [events[i] for i in batches[b]]
        con = duckdb.connect(str(wh.path))
        if batch:
            con.executemany(
                "insert into landing.crm__accounts (account_id, account_name, segment, _event_id,"
                " _source_system, _op, _source_event_at, _loaded_at, _sync_batch_id)"
                " values (?, ?, 'smb', ?, 'crm', ?, ?, ?, ?)",
                [(e.customer_id, e.account_name, e.event_id, e.op,
                  e.event_at.strftime("%Y-%m-%dT%H:%M:%SZ"), T0 + timedelta(hours=1 + step), f"b{b}")
                 for e in batch],
            )
        con.close()
        landed += batch
        wh.dbt("run", "--select", "stg_crm__accounts", "state_crm__accounts")
    rows = wh.query(
        "select customer_id, account_name, _is_deleted, _event_id, _source_event_at"
        " from state.state_crm__accounts"
    )
    assert {r[0]: tuple(r[1:]) for r in rows} == oracle(landed)
