"""Simulate every fault, build with real dbt, and compare each state table with the oracle."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
import pytest

from governance.simulate.faults import DEMO_FAULTS
from tests.e2e.oracle import ENTITIES, actual_state, expected_state, injected_reasons

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("oracle")]


def _assert_states_match_oracle(path) -> None:
    con = duckdb.connect(str(path), read_only=True)
    try:
        for entity in ENTITIES:
            expected, actual = expected_state(con, entity), actual_state(con, entity)
            missing = expected.keys() - actual.keys()
            extra = actual.keys() - expected.keys()
            wrong = {k: (expected[k], actual[k]) for k in expected.keys() & actual.keys()
                     if expected[k] != actual[k]}
            problems = (len(missing), len(extra), len(wrong))
            assert problems == (0, 0, 0), (
                f"{entity}: {problems} missing/extra/wrong; e.g. {next(iter(wrong.items()), None)}"
            )
            assert len(actual) >= 50, f"{entity} is too small to prove anything"
    finally:
        con.close()


def test_every_state_table_equals_the_oracle_after_full_and_incremental_builds(warehouse) -> None:
    warehouse.simulate(seed=3, now=datetime(2026, 11, 24, 12), entities=1200, events=30_000,
                       batches=12, faults=DEMO_FAULTS)
    warehouse.dbt("build")
    _assert_states_match_oracle(warehouse.path)

    # Three more batches with every fault, applied incrementally, still match row for row.
    warehouse.simulate(now=datetime(2026, 11, 24, 12, 30), batches=3, faults=DEMO_FAULTS,
                       append=True)
    warehouse.dbt("build")
    _assert_states_match_oracle(warehouse.path)

    # Quarantine and dedupe agree with what the simulator injected.
    truth = json.loads((warehouse.root / "simulate_truth.json").read_text())
    reasons = dict(warehouse.query(
        "select _quarantine_reason, count(*) from staging.stg__quarantine group by 1"
    ))
    assert reasons == injected_reasons(truth["totals"])
    assert len(reasons) == 13, "the demo faults inject every quarantine reason"
    for name, entry in truth["tables"].items():
        system, entity = name.split("__", 1)
        (staged,) = warehouse.query(f"select count(*) from staging.stg_{system}__{entity}")[0]
        assert staged == entry["totals"]["events_landed"], name
        later = entry["totals"]["duplicates"] + entry["totals"]["conflicting_redeliveries"]
        assert entry["totals"]["rows_landed"] - staged == later, name

