"""Replay repairs a domain and leaves it equal to a full refresh (DESIGN §6.4)."""

from __future__ import annotations

import shutil
from datetime import datetime

import duckdb
import pytest

from governance.errors import UsageError
from governance.replay import plan_replay, run_replay
from governance.simulate.faults import DEMO_FAULTS
from tests.e2e.conftest import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("replay")]

CUSTOMER_STATES = {"state_crm__accounts": "customer_id", "state_erp__customers": "customer_id",
                   "state_helpdesk__contacts": "customer_id", "customer_state": "customer_id"}


def _rows(wh: Warehouse) -> dict[str, set[tuple]]:
    out = {}
    for model in CUSTOMER_STATES:
        cols = [c for c in wh.columns(f"state.{model}")
                if c not in ("_applied_at", "_dbt_invocation_id", "_staged_at")]
        out[model] = set(wh.query(f"select {', '.join(cols)} from state.{model}"))
    return out


def test_replay_from_a_batch_repairs_state_and_equals_a_full_refresh(project_dir, tmp_path) -> None:
    wh = Warehouse(project_dir, tmp_path / "replayed")
    wh.simulate(seed=21, now=datetime(2026, 11, 24, 12), entities=400, events=15_000, batches=12,
                faults=DEMO_FAULTS)
    wh.dbt("build")
    batch = "crm__accounts-000006"
    (since,) = wh.query(f"select started_at from landing.sync_batches where batch_id = '{batch}'")[0]

    # Damage after the replay point: staging lost events, state holds wrong values.
    con = duckdb.connect(str(wh.path))
    lost = con.execute(
        "delete from staging.stg_crm__accounts where _loaded_at >= ? and hash(_event_id) % 3 = 0",
        [since],
    ).fetchone()[0]
    corrupted = con.execute(
        "update state.state_crm__accounts set account_name = 'CORRUPTED'"
        " where _loaded_at >= ? and not _is_deleted", [since],
    ).fetchone()[0]
    con.close()
    assert lost > 10
    assert corrupted > 10

    reference = Warehouse(project_dir, tmp_path / "reference")
    reference.root.mkdir()
    shutil.copy(wh.path, reference.path)
    reference.dbt("run", "--full-refresh", "--select", "staging", "state")

    plan = plan_replay(project_dir, wh.path, "customer", from_batch=batch)
    assert plan.since == since
    assert plan.selection == ["stg_crm__accounts+", "stg_erp__customers+", "stg_helpdesk__contacts+"]
    result = run_replay(plan, project_dir, wh.path, target_dir=wh.target)

    assert _rows(wh) == _rows(reference)
    changed = {c.model: c.changed for c in result.changes}
    assert changed["state_crm__accounts"] >= corrupted
    (replays,) = wh.query(
        "select count(*) from audit.sync_audit_log where resource_type = 'invocation'"
        " and invocation_vars like '%sync_replay_from%'"
    )[0]
    assert replays == 1
    assert not wh.query(
        "select _event_id from staging.stg_crm__accounts group by 1 having count(*) > 1 limit 1"
    ), "replay must not stage an event twice"


def test_replay_rejects_a_batch_of_another_domain(project_dir, tmp_path) -> None:
    wh = Warehouse(project_dir, tmp_path)
    wh.simulate(seed=1, entities=50, events=1000, batches=2)
    with pytest.raises(UsageError, match="belongs to wms__inventory_movements"):
        plan_replay(project_dir, wh.path, "customer", from_batch="wms__inventory_movements-000001")
    with pytest.raises(UsageError, match="exactly one of"):
        plan_replay(project_dir, wh.path, "customer")
