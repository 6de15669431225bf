"""The control models surface exactly what the simulator injected (its truth file)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import pytest

from governance.simulate.faults import DEMO_FAULTS
from tests.e2e.conftest import Warehouse
from tests.e2e.oracle import injected_reasons

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("controls")]


@pytest.fixture(scope="module")
def built(project_dir, tmp_path_factory) -> tuple[Warehouse, dict]:
    wh = Warehouse(project_dir, tmp_path_factory.mktemp("controls"))
    # Freshness is judged against the real clock, so the landing zone ends now; 24 batches make
    # the stall (the last 30 %) of seed 13's stalled system (wms) longer than its 5-minute SLO.
    wh.simulate(seed=13, now=datetime.now(UTC), entities=600, events=20_000, batches=24,
                faults=DEMO_FAULTS)
    wh.dbt("build")
    wh.dbt("source", "freshness", check=False)
    truth = json.loads((wh.root / "simulate_truth.json").read_text())
    return wh, truth


def test_missing_and_partial_batches_are_flagged(built) -> None:
    wh, truth = built
    flagged = {(r[0], r[1]): r[2] for r in wh.query(
        "select landing_table, batch_id, reconciliation_status from control.sync_reconciliation"
        " where reconciliation_status <> 'reconciled'"
    )}
    expected = {}
    for table, entry in truth["tables"].items():
        # rows that lost their batch id leave their sender's batch short, and land unannounced
        for batch in entry["null_batch_id_batches"]:
            expected[(table, batch)] = "missing_rows"
        if entry["null_batch_id_batches"]:
            expected[(table, None)] = "unannounced"
        expected |= {(table, b): "batch_missing" for b in entry["missing_batches"]}
        expected |= {(table, b): "missing_rows" for b in entry["partial_batches"]}
    assert any(v == "batch_missing" for v in expected.values()), "the demo faults miss batches"
    assert flagged == expected


def test_checksums_reconcile_every_complete_batch(built) -> None:
    wh, _ = built
    rows = wh.query(
        "select count(*), count(*) filter (where sent_checksum = landed_checksum)"
        " from control.sync_reconciliation where reconciliation_status = 'reconciled'"
    )
    total, matching = rows[0]
    assert total > 100
    assert matching == total


def test_dispositions_match_injected_duplicates_and_quarantine(built) -> None:
    wh, truth = built
    counts = dict(wh.query(
        "select disposition, count(*) from control.sync_event_dispositions group by 1"
    ))
    totals = truth["totals"]
    assert counts["duplicate"] == totals["duplicates"]
    assert counts["duplicate_conflict"] == totals["conflicting_redeliveries"] > 0
    injected = injected_reasons(totals)
    assert counts["quarantined"] == sum(injected.values())
    assert sum(counts.values()) == totals["rows_landed"]
    assert set(counts) == {"applied", "superseded", "duplicate", "duplicate_conflict", "quarantined"}
    reasons = dict(wh.query(
        "select quarantine_reason, count(*) from control.sync_event_dispositions"
        " where disposition = 'quarantined' group by 1"
    ))
    assert reasons == injected


def test_applied_events_are_exactly_the_events_held_in_state(built) -> None:
    wh, _ = built
    (applied,) = wh.query(
        "select count(*) from control.sync_event_dispositions where disposition = 'applied'"
    )[0]
    held = sum(
        wh.query(f"select count(*) from state.{m}")[0][0]
        for m in ("state_crm__accounts", "state_erp__customers", "state_helpdesk__contacts",
                  "state_erp__products",
                  "state_erp__suppliers", "state_erp__invoices", "state_pim__products",
                  "state_wms__inventory_movements", "state_oms__orders", "state_oms__order_status_events",
                  "state_srm__supplier_risk")
    )
    assert applied == held


def test_audit_log_records_build_and_freshness(built) -> None:
    wh, _ = built
    commands = dict(wh.query(
        "select command, count(*) from audit.sync_audit_log where resource_type = 'invocation'"
        " group by 1"
    ))
    assert commands == {"build": 1, "freshness": 1}
    (nodes,) = wh.query(
        "select count(distinct node_id) from audit.sync_audit_log where command = 'build'"
        " and resource_type = 'model'"
    )[0]
    # the history models are models too, in the schema the dbt snapshots had
    (models,) = wh.query(
        "select count(*) from information_schema.tables"
        " where table_schema in ('staging', 'state', 'control', 'exports', 'snapshots')"
    )[0]
    assert nodes == models
    stalled = truth_stalled_source(built[1])
    (status,) = wh.query(
        "select status from audit.sync_audit_log where command = 'freshness'"
        f" and node_id = 'source.syncgov.{stalled}'"
    )[0]
    assert status == "error"


def truth_stalled_source(truth: dict) -> str:
    """The stalled system's first landing table, as a dbt source name (system.entity)."""
    system = truth["run"]["stalled_system"]
    table = next(t for t in sorted(truth["tables"]) if t.startswith(system + "__"))
    return table.replace("__", ".", 1)


def test_health_statuses_follow_the_injected_faults(built) -> None:
    wh, truth = built
    status = dict(wh.query("select domain, status from control.sync_health where level = 'domain'"))
    domains = dict(wh.query(
        "select distinct landing_table, domain from control.sync_event_dispositions"
    ))
    stalled = truth["run"]["stalled_system"]
    # health looks back 24 hours (var sync_health_window_hours) for unreconciled batches
    recent = {r[0] for r in wh.query(
        "select batch_id from landing.sync_batches"
        " where finished_at >= (select max(evaluated_at) from control.sync_health) - interval 24 hour"
    )}
    # a conflicting redelivery counts while its batch's load time is in the window (a batch's
    # stamp: its earliest `_loaded_at`; rows with a bogus future one are quarantined)
    loaded_recently = {r[0] for r in wh.query(
        " union all ".join(
            f"select _sync_batch_id from landing.{t} group by 1 having min(_loaded_at) between"
            " (select max(evaluated_at) - interval 24 hour from control.sync_health)"
            " and (select max(evaluated_at) from control.sync_health)"
            for t in truth["tables"])
    )}
    expected = {}
    for table, entry in truth["tables"].items():
        domain = domains[table]
        unreconciled = recent & {*entry["missing_batches"], *entry["partial_batches"]}
        conflicting = {b for b, counts in entry["batches"].items()
                       if counts["conflicting_redeliveries"]} & loaded_recently
        if table.startswith(stalled + "__"):
            expected[domain] = "delayed"
        elif (unreconciled or entry["null_batch_id_batches"] or conflicting
              # the volume_drop table's latest batch holds a tenth of its rows: an anomaly
              or table == truth["run"]["volume_drop_table"]):
            expected[domain] = "partial" if expected.get(domain) != "delayed" else "delayed"
        else:
            expected.setdefault(domain, "current")
    assert status == expected
    (reason,) = wh.query(
        f"select reason from control.sync_health where flow like '{stalled}__%' limit 1"
    )[0]
    assert "SLO" in reason


def test_health_counts_each_flows_dispositions(built) -> None:
    """Health's per-flow counts (summed from the per-batch accounting, and the window's
    conflicting redeliveries) equal a tally of the dispositions' rows themselves."""
    wh, truth = built
    health = wh.query(
        "select flow, rows_landed, duplicates, quarantined, pending_events, duplicate_conflicts"
        " from control.sync_health where level = 'flow' order by flow")
    tally = wh.query(
        "select d.landing_table, count(*),"
        " count(*) filter (where d.disposition = 'duplicate'),"
        " count(*) filter (where d.disposition = 'quarantined'),"
        " count(*) filter (where d.disposition = 'pending'),"
        " count(*) filter (where d.disposition = 'duplicate_conflict' and d._loaded_at between"
        "   h.evaluated_at - interval 24 hour and h.evaluated_at)"
        " from control.sync_event_dispositions as d"
        " cross join (select max(evaluated_at) as evaluated_at from control.sync_health) as h"
        " group by 1 order by 1")
    assert health == tally
    assert len(health) == len(truth["tables"])
    assert sum(r[2] for r in health) > 0
    assert sum(r[3] for r in health) > 0
    assert sum(r[5] for r in health) > 0  # the demo faults redeliver with conflicts in the window


def test_conflicting_updates_become_conflicts_resolved_by_policy(built) -> None:
    wh, truth = built
    rows = wh.query(
        "select domain, rule_applied, status, count(*) from control.sync_conflicts group by all"
    )
    assert sum(r[3] for r in rows) == truth["totals"]["conflicts"] > 0
    rules = {(r[0], r[1], r[2]) for r in rows}
    assert rules == {("customer", "manual_review", "open"),
                     ("product", "latest_timestamp", "auto_resolved")}
    fields = {r[0] for r in wh.query("select distinct field from control.sync_conflicts")}
    assert fields == {"email", "phone", "product_name"}, "helpdesk phone updates are conflicts"
    # manual review keeps the owner's value in state; the open conflicts show in health
    (kept,) = wh.query(
        "select count(*) from control.sync_conflicts as c"
        " join state.customer_state as s on s.customer_id = c.entity_key"
        " where c.field = 'email' and s.email = c.other_value"
    )[0]
    assert kept == 0
    (open_in_health,) = wh.query(
        "select open_conflicts from control.sync_health where health_id = 'domain:customer'"
    )[0]
    assert open_in_health == sum(r[3] for r in rows if r[2] == "open")


def test_every_reconciliation_status_is_detected(project_dir, tmp_path) -> None:
    """Statuses the simulator never produces, made by hand in landing and the ledger."""
    wh = Warehouse(project_dir, tmp_path)
    wh.simulate(seed=5, now=datetime(2026, 11, 24, 12), entities=100, events=3_000, batches=6)
    con = duckdb.connect(str(wh.path))
    # batch 2 of the CRM ledger vanishes: its rows are unannounced, its number a gap
    con.execute("delete from landing.sync_batches where batch_id = 'crm__accounts-000002'")
    # an extra row lands in ERP batch 1 under a new event id
    con.execute(
        "insert into landing.erp__customers select * replace ('erp__customers:extra' as _event_id)"
        " from landing.erp__customers where _sync_batch_id = 'erp__customers-000001' limit 1"
    )
    # one event id of PIM batch 1 is rewritten in flight: same count, different ids
    con.execute(
        "update landing.pim__products set _event_id = _event_id || '-garbled' where _event_id ="
        " (select min(_event_id) from landing.pim__products"
        "  where _sync_batch_id = 'pim__products-000001')"
    )
    con.close()
    wh.dbt("build", "--select", "+sync_reconciliation", "--indirect-selection", "cautious")
    statuses = dict(wh.query(
        "select coalesce(batch_id, landing_table || '#' || cast(sequence_number as varchar)),"
        " reconciliation_status from control.sync_reconciliation"
        " where reconciliation_status != 'reconciled'"
    ))
    assert statuses == {
        "crm__accounts-000002": "unannounced",
        "crm__accounts#2": "sequence_gap",
        "erp__customers-000001": "extra_rows",
        "pim__products-000001": "checksum_mismatch",
    }
