"""sync_drift compares source extracts with state: silent when nothing was lost, exact when it was."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
import pytest

from governance.simulate.faults import DEMO_FAULTS, FaultRates
from tests.e2e.conftest import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("drift")]

LOSSLESS = FaultRates(duplicate=0.05, out_of_order=0.05, late=0.02, conflict=0.03, invalid=0.02)


def test_no_drift_when_no_event_was_lost_and_tampering_is_caught(project_dir, tmp_path) -> None:
    wh = Warehouse(project_dir, tmp_path)
    wh.simulate(seed=9, now=datetime(2026, 11, 24, 12), entities=300, events=15_000, batches=8,
                faults=LOSSLESS)
    wh.simulate(now=datetime(2026, 11, 24, 12, 30), batches=2, faults=LOSSLESS, append=True)
    wh.dbt("build")
    assert wh.query("select count(*) from control.sync_drift") == [(0,)]

    con = duckdb.connect(str(wh.path))
    changed, gone, fake = (r[0] for r in con.execute(
        "select customer_id from state.state_crm__accounts where not _is_deleted order by 1 limit 3"
    ).fetchall())
    con.execute("update state.state_crm__accounts set phone = 'tampered' where customer_id = ?",
                [changed])
    con.execute("delete from state.state_crm__accounts where customer_id = ?", [gone])
    con.execute(
        "insert into state.state_crm__accounts by name select * replace ('C999999' as customer_id)"
        " from state.state_crm__accounts where customer_id = ?", [fake],
    )
    con.close()
    expected = {
        (changed, "value_mismatch", "phone", "tampered"),
        (gone, "missing_in_warehouse", None, None),
        ("C999999", "missing_in_source", None, None),
    }
    query = "select entity_key, drift_type, field, warehouse_value from control.sync_drift"
    # drift is measured per extract: with no new extract an incremental run compares nothing
    # and keeps the last comparison (which is what a cycle between two extracts costs)
    compared = wh.query("select compared_at from control.sync_drift_by_extract"
                        " where drift_type = 'compared' order by landing_table")
    wh.dbt("run", "--select", "sync_drift_by_extract", "sync_drift")
    assert set(wh.query(query)) == set()
    assert wh.query("select compared_at from control.sync_drift_by_extract"
                    " where drift_type = 'compared' order by landing_table") == compared
    # a full refresh compares every extract again
    wh.dbt("run", "--full-refresh", "--select", "sync_drift_by_extract", "sync_drift")
    assert set(wh.query(query)) == expected
    # so does an incremental run once a table's extract is new: only that table is compared
    con = duckdb.connect(str(wh.path))
    con.execute("update state.state_crm__accounts set phone = 'tampered again'"
                " where customer_id = ?", [changed])
    con.execute("update landing.crm__accounts__extract"
                " set _extracted_at = _extracted_at + interval 1 minute")
    con.close()
    before = dict(wh.query("select landing_table, compared_at from control.sync_drift_by_extract"
                           " where drift_type = 'compared'"))
    wh.dbt("run", "--select", "sync_drift_by_extract", "sync_drift")
    after = dict(wh.query("select landing_table, compared_at from control.sync_drift_by_extract"
                          " where drift_type = 'compared'"))
    assert {t for t in after if after[t] != before[t]} == {"crm__accounts"}
    assert set(wh.query(query)) == expected - {(changed, "value_mismatch", "phone", "tampered")} | {
        (changed, "value_mismatch", "phone", "tampered again")}


def test_drift_appears_only_where_batches_were_lost(project_dir, tmp_path) -> None:
    wh = Warehouse(project_dir, tmp_path)
    wh.simulate(seed=4, now=datetime(2026, 11, 24, 12), entities=400, events=20_000, batches=16,
                faults=DEMO_FAULTS)
    wh.dbt("build")
    truth = json.loads((wh.root / "simulate_truth.json").read_text())
    lossy = {
        name for name, entry in truth["tables"].items()
        if entry["missing_batches"] or entry["partial_batches"] or entry["stalled_batches"]
    } - {"oms__order_status_events"}  # an event stream: no extract to compare with
    drifted = {r[0] for r in wh.query("select distinct landing_table from control.sync_drift")}
    assert lossy, "the demo faults lose batches"
    assert drifted <= lossy
    assert len(drifted) >= len(lossy) // 2
    # the summary, counted when each extract is compared, is the drift rows' own tally
    tally = set(wh.query("""
        select domain, landing_table, max(extracted_at),
            count(distinct case when drift_type = 'missing_in_warehouse' then entity_key end),
            count(distinct case when drift_type = 'missing_in_source' then entity_key end),
            count(distinct case when drift_type = 'value_mismatch' then entity_key end),
            count(*) filter (where drift_type = 'value_mismatch')
        from control.sync_drift group by domain, landing_table"""))
    assert tally
    assert set(wh.query("select * from control.sync_drift_summary")) == tally
