"""Loaders as they really behave: batches that commit late, clocks that run ahead.

Each test lands batches by hand after a first build — stamped 20 minutes, 2 hours and 2 days
before what staging last saw, or with a `_loaded_at` in 2099 — and runs the next incremental
`dbt build` (which fails on any error test). Staging, state and the accounting must then
equal what a full refresh of the same landing zone gives, and the oracle computed in Python.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from governance.dbt_invoke import read_run_results
from governance.simulate.faults import FaultRates
from tests.e2e.conftest import Warehouse
from tests.e2e.oracle import ENTITIES, actual_state, expected_state

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("late")]

NOW = datetime(2026, 11, 24, 12)
TABLE = "erp__customers"


def _land_copy_of_batch(con: duckdb.DuckDBPyConnection, source_batch: str, new_batch: str, *,
                        loaded_at: datetime, event_at: datetime, credit_status: str,
                        sequence_number: int) -> int:
    """A new batch: new events for the keys of `source_batch`, stamped `loaded_at`, with its
    ledger entry (rows and checksum as the sender computes them). Returns its row count."""
    con.execute(
        f"""
        insert into landing.{TABLE}
        select * replace (
            '{new_batch}:' || _event_id as _event_id,
            '{event_at.isoformat()}Z' as _source_event_at,
            timestamp '{loaded_at.isoformat(sep=' ')}' as _loaded_at,
            '{new_batch}' as _sync_batch_id,
            case when _op = 'upsert' then '{credit_status}' end as credit_status,
            'upsert' as _op
        )
        from landing.{TABLE}
        where _sync_batch_id = '{source_batch}' and customer_id is not null
        """
    )
    con.execute(
        f"""
        insert into landing.sync_batches
        select '{new_batch}', 'erp', 'customers', '{TABLE}', {sequence_number},
            timestamp '{loaded_at.isoformat(sep=' ')}', timestamp '{loaded_at.isoformat(sep=' ')}',
            'success', count(*), sum(cast('0x' || left(md5(_event_id), 8) as bigint))
        from landing.{TABLE} where _sync_batch_id = '{new_batch}'
        """
    )
    return con.execute(
        f"select count(*) from landing.{TABLE} where _sync_batch_id = '{new_batch}'"
    ).fetchone()[0]


def _fingerprint(wh: Warehouse) -> dict[str, tuple]:
    out = {}
    for rel in ("staging.stg_erp__customers", "state.state_erp__customers", "state.customer_state"):
        dropped = [c for c in ("_applied_at", "_dbt_invocation_id", "_staged_at")
                   if c in wh.columns(rel)]
        out[rel] = wh.query(
            f"select count(*), sum(hash(columns(* exclude ({', '.join(dropped)}))))from {rel}"
        )[0]
    return out


def _assert_states_match_oracle(wh: Warehouse) -> None:
    con = duckdb.connect(str(wh.path), read_only=True)
    try:
        for entity in ENTITIES:
            assert actual_state(con, entity) == expected_state(con, entity), entity
    finally:
        con.close()


def test_batches_committed_20_minutes_2_hours_and_2_days_late_are_applied(project_dir, tmp_path):
    wh = Warehouse(project_dir, tmp_path)
    wh.simulate(seed=8, now=NOW, entities=150, events=4_000, batches=6)
    wh.dbt("build")
    (newest,) = wh.query(f"select max(_loaded_at) from staging.stg_{TABLE}")[0]

    con = duckdb.connect(str(wh.path))
    late = {}
    for n, lag in enumerate((timedelta(minutes=20), timedelta(hours=2), timedelta(days=2))):
        batch = f"{TABLE}-late-{n}"
        late[batch] = _land_copy_of_batch(
            con, f"{TABLE}-00000{n + 1}", batch, loaded_at=newest - lag,
            event_at=NOW + timedelta(minutes=5 + n), credit_status="blocked", sequence_number=100 + n)
    con.close()
    assert all(late.values())

    wh.dbt("build")  # an error test (not_staged, the identity) would fail this build
    staged = dict(wh.query(
        f"select _sync_batch_id, count(*) from staging.stg_{TABLE}"
        f" where _sync_batch_id like '{TABLE}-late-%' group by 1"
    ))
    assert staged == late, "every late-committed row is staged by the next incremental run"
    progress = wh.query(
        "select count(*) from staging.stg__staged_batches where rows_landed <> rows_staged"
    )
    assert progress == [(0,)]
    # applied: the keys now hold the late events (their event time is the newest)
    (held,) = wh.query(
        f"select count(*) from state.state_{TABLE} where _sync_batch_id like '{TABLE}-late-%'"
    )[0]
    assert held > 0
    dispositions = dict(wh.query(
        "select disposition, count(*) from control.sync_event_dispositions"
        f" where _sync_batch_id like '{TABLE}-late-%' group by 1"
    ))
    assert set(dispositions) <= {"applied", "superseded"}
    assert sum(dispositions.values()) == sum(late.values())
    _assert_states_match_oracle(wh)

    incremental = _fingerprint(wh)
    wh.dbt("run", "--full-refresh", "--select", "staging", "state")
    assert _fingerprint(wh) == incremental, "incremental staging and state equal a full refresh"


def test_a_future_loaded_at_is_quarantined_and_does_not_stop_later_batches(project_dir, tmp_path):
    wh = Warehouse(project_dir, tmp_path)
    wh.simulate(seed=9, now=NOW, entities=150, events=4_000, batches=6)
    wh.dbt("build")
    (newest,) = wh.query(f"select max(_loaded_at) from staging.stg_{TABLE}")[0]
    con = duckdb.connect(str(wh.path))
    future = _land_copy_of_batch(
        con, f"{TABLE}-000001", f"{TABLE}-future", loaded_at=datetime(2099, 1, 1),
        event_at=NOW + timedelta(minutes=1), credit_status="on_hold", sequence_number=100)
    con.close()
    wh.dbt("build")
    reasons = dict(wh.query(
        f"select _quarantine_reason, count(*) from staging.stg_{TABLE}"
        f" where _sync_batch_id = '{TABLE}-future' group by 1"
    ))
    assert reasons == {"future_loaded_at": future}

    # the skewed clock froze nothing: a batch stamped before it is staged and applied
    con = duckdb.connect(str(wh.path))
    later = _land_copy_of_batch(
        con, f"{TABLE}-000002", f"{TABLE}-after", loaded_at=newest + timedelta(minutes=1),
        event_at=NOW + timedelta(minutes=2), credit_status="blocked", sequence_number=101)
    con.close()
    wh.dbt("build")
    (staged,) = wh.query(
        f"select count(*) from staging.stg_{TABLE} where _sync_batch_id = '{TABLE}-after'"
        " and _quarantine_reason is null"
    )[0]
    assert staged == later
    _assert_states_match_oracle(wh)


def test_a_staged_event_lost_after_the_build_fails_the_accounting(project_dir, tmp_path):
    wh = Warehouse(project_dir, tmp_path)
    wh.simulate(seed=10, now=NOW, entities=100, events=2_000, batches=4)
    wh.dbt("build")
    con = duckdb.connect(str(wh.path))
    lost = con.execute(
        f"select _event_id, _sync_batch_id from staging.stg_{TABLE}"
        " where _quarantine_reason is null order by _event_id limit 3"
    ).fetchall()
    con.execute(f"delete from staging.stg_{TABLE} where _event_id in"
                f" ({', '.join(repr(e) for e, _ in lost)})")
    con.close()
    run = wh.dbt("build", "--select", "control", check=False)
    assert run.returncode != 0
    notable = {n.name: n.status for n in read_run_results(wh.target).notable}
    assert notable["assert_no_landed_event_is_lost"] == "fail"
    assert notable["assert_every_landed_row_is_accounted_for"] == "warn"
    assert any(name.startswith("accepted_values_sync_event_dispositions_disposition")
               and status == "warn" for name, status in notable.items())
    # health was written before the build failed: it says so instead of staying green
    (status, reason) = wh.query(
        f"select status, reason from control.sync_health where flow = '{TABLE}'")[0]
    assert status == "failed"
    assert "3 landed event(s) never reached staging" in reason
    dispositions = set(wh.query(
        "select _event_id, disposition from control.sync_event_dispositions"
        " where disposition = 'not_staged'"
    ))
    assert dispositions == {(e, "not_staged") for e, _ in lost}


def test_a_resumed_loader_leaves_builds_green_and_its_backlog_closes_the_gap(project_dir, tmp_path):
    """A stalled system resumes (a sequence gap: partial, never an integrity failure), then
    delivers its backlog late with the original batch ids (the gap clears)."""
    def now() -> datetime:  # freshness is judged against the build's clock
        return datetime.now(UTC).replace(tzinfo=None)

    wh = Warehouse(project_dir, tmp_path)
    # seed 14 stalls the CRM (customer domain, SLO 60 min): a resumed CRM is not delayed
    wh.simulate(seed=14, now=now() - timedelta(minutes=30), entities=200, events=5_000,
                batches=12, faults=FaultRates(stalled_system=0.3))
    wh.dbt("build")
    truth = json.loads((wh.root / "simulate_truth.json").read_text())
    stalled = truth["run"]["stalled_system"]
    tables = {t for t, e in truth["tables"].items() if e["stalled_batches"]}
    assert tables
    assert all(t.startswith(stalled + "__") for t in tables)

    # the loader resumes with new batches; the stalled ones are still missing
    wh.simulate(now=now(), batches=1, faults=FaultRates(), append=True)
    wh.dbt("build")  # before the fix the accounting test failed here, and on every later build
    gaps = {r[0] for r in wh.query(
        "select landing_table from control.sync_reconciliation"
        " where reconciliation_status = 'sequence_gap'")}
    assert gaps == tables
    flows = dict(wh.query(
        "select flow, status || ': ' || reason from control.sync_health where level = 'flow'"))
    for table in tables:
        assert flows[table].startswith("partial: "), flows[table]
        assert "sequence_gap" in flows[table]

    # the backlog arrives late, under its original batch ids and sequence numbers
    wh.simulate(now=now(), batches=1, faults=FaultRates(recovery=1.0), append=True)
    wh.dbt("build")
    assert wh.query(
        "select count(*) from control.sync_reconciliation where reconciliation_status <> 'reconciled'"
    ) == [(0,)]
    flows = dict(wh.query("select flow, status from control.sync_health where level = 'flow'"))
    assert {flows[t] for t in tables} == {"current"}
    _assert_states_match_oracle(wh)
