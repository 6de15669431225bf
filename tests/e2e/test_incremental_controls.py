"""Incremental controls equal a full refresh: after appends with every fault, late commits of
any age and redeliveries of old events, the incremental control tables hold exactly the rows
that `--full-refresh` of the control layer computes from the same landing, staging and state."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from governance.simulate.faults import DEMO_FAULTS
from tests.e2e.conftest import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("incremental_controls")]

# What an incremental run keeps but a rebuild recomputes: only the time a row was computed.
COMPARED = {
    "sync_event_dispositions": "select * exclude (_disposed_at) from control.sync_event_dispositions",
    "sync_landed_batches": "select * exclude (counted_at) from control.sync_landed_batches",
    "sync_reconciliation": "select * from control.sync_reconciliation",
    "sync_batch_accounting": "select * from control.sync_batch_accounting",
    "sync_conflicts": "select * exclude (detected_at) from control.sync_conflicts",
    # every append brings new extracts: each is compared once, as a full refresh compares it
    "sync_drift_by_extract": "select * exclude (compared_at) from control.sync_drift_by_extract",
    "sync_orphaned_state": "select * exclude (checked_at) from control.sync_orphaned_state",
}
# the stalled system's backlog is delivered, oldest first, over the appends
APPEND_FAULTS = replace(DEMO_FAULTS, recovery=0.3)
TABLE = "crm__accounts"


def _rows(wh: Warehouse, sql: str) -> Counter:
    return Counter(wh.query(sql))


def _full_refresh_copy(wh: Warehouse, root) -> Warehouse:
    """The same warehouse with its control layer rebuilt from scratch."""
    full = Warehouse(wh.project, root)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(wh.path, full.path)  # same file name: compiled SQL names the catalog
    full.dbt("run", "--full-refresh", "--select", "control")
    return full


def _assert_equal_to_full_refresh(wh: Warehouse, full: Warehouse) -> None:
    for name, sql in COMPARED.items():
        incremental, rebuilt = _rows(wh, sql), _rows(full, sql)
        assert sum(rebuilt.values()) > 0, name
        assert incremental == rebuilt, (
            f"{name}: only incremental {list((incremental - rebuilt).elements())[:3]},"
            f" only full refresh {list((rebuilt - incremental).elements())[:3]}"
        )


def _redeliver_old_event(wh: Warehouse, *, batch: str, earlier: bool, payload: str | None) -> str:
    """Land one more delivery of the oldest batch's first event in a new batch of its own: one
    stamped before the staged delivery (a late commit that must replace it) or after it, with the
    same payload or a changed account name (a conflicting redelivery). Returns the event id."""
    con = duckdb.connect(str(wh.path))
    try:
        event_id, loaded_at = con.execute(
            f"select _event_id, _loaded_at from landing.{TABLE} where _event_id is not null and _loaded_at is not null"
            f" and _sync_batch_id = (select min(_sync_batch_id) from landing.{TABLE})"
            " order by _event_id limit 1"
        ).fetchone()
        stamp = loaded_at + timedelta(seconds=-1 if earlier else 1)
        name = "" if payload is None else f", '{payload}' as account_name"
        con.execute(
            f"insert into landing.{TABLE} select * replace ("
            f" '{batch}' as _sync_batch_id, timestamp '{stamp}' as _loaded_at{name})"
            f" from landing.{TABLE} where _event_id = ? limit 1", [event_id],
        )
    finally:
        con.close()
    return event_id


def _agree_with_an_open_conflict(wh: Warehouse, loaded_at: datetime) -> str:
    """Land a late owner (CRM) event that, within the conflict window, sets the phone number a
    helpdesk write set: that write is no conflict any more. Returns the write's event id."""
    con = duckdb.connect(str(wh.path))
    try:
        write, key, value, at = con.execute(
            # a key with as few helpdesk phone writes as there are (one, with these seeds): its
            # key then has no conflict row left, which delete+insert alone never removes
            "select c.conflict_id, c.entity_key, c.other_value, c.other_event_at"
            " from control.sync_conflicts as c join (select customer_id, count(*) as writes"
            "  from staging.stg_helpdesk__contacts where _quarantine_reason is null"
            "  and _op = 'upsert' and phone is not null group by 1) as w"
            "  on w.customer_id = c.entity_key"
            " where c.landing_table = 'helpdesk__contacts' and c.field = 'phone'"
            " and c.owner_value is not null order by w.writes, c.conflict_id limit 1"
        ).fetchone()
        con.execute(
            "insert into landing.crm__accounts select * replace ("
            " 'agree:' || _event_id as _event_id, ? as phone, ? as _source_event_at,"
            " 'late-owner' as _sync_batch_id, ? as _loaded_at)"
            " from landing.crm__accounts where account_id = ? and _op = 'upsert'"
            " and _event_id is not null order by _source_event_at desc limit 1",
            [value, (at + timedelta(minutes=10)).isoformat() + "Z", loaded_at, key],
        )
    finally:
        con.close()
    return write


def test_incremental_controls_equal_a_full_refresh_after_ten_appends(project_dir, tmp_path) -> None:
    start = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=4)
    wh = Warehouse(project_dir, tmp_path / "incremental")
    wh.root.mkdir()
    wh.simulate(seed=21, now=start, entities=300, events=8_000, batches=6, faults=DEMO_FAULTS)
    wh.dbt("build")
    for n in range(1, 11):
        wh.simulate(seed=21, now=start + timedelta(minutes=10 * n), entities=300, events=8_000,
                    batches=1, faults=APPEND_FAULTS, append=True)
        if n == 3:
            # an old event's earlier delivery commits late: its staged row and its old batch's
            # dispositions change although that batch's count does not
            replaced = _redeliver_old_event(wh, batch="late-precedes", earlier=True, payload=None)
        if n == 4:
            resolved = _agree_with_an_open_conflict(wh, start + timedelta(minutes=10 * n))
        if n == 9:
            # another cadence's run: controls see the new rows before their staging does
            wh.dbt("run", "--select", "control")
            (pending,) = wh.query(
                "select count(*) from control.sync_event_dispositions where disposition = 'pending'"
            )[0]
            assert pending > 0
        if n == 6:
            _redeliver_old_event(wh, batch="late-conflict", earlier=False, payload="changed")
        if n == 8:
            # a batch that grows after it was counted and disposed of (a second part)
            _redeliver_old_event(wh, batch="late-precedes", earlier=False, payload=None)
        # every error test (the identity, lost events) must pass on every cycle
        wh.dbt("build")
        if n == 5:
            _assert_equal_to_full_refresh(wh, _full_refresh_copy(wh, tmp_path / "full-5"))

    _assert_equal_to_full_refresh(wh, _full_refresh_copy(wh, tmp_path / "full-10"))
    # the sharp cases happened to one old event: its late earlier delivery is canonical now,
    # the original delivery a duplicate, the changed one a conflicting duplicate, and the
    # second part of the grown batch a duplicate again
    deliveries = Counter(wh.query(
        "select _sync_batch_id, disposition from control.sync_event_dispositions"
        f" where landing_table = '{TABLE}' and _event_id = '{replaced}'"
    ))
    canonical = [d for (b, d) in deliveries if b == "late-precedes" and d != "duplicate"]
    assert canonical in (["applied"], ["superseded"])
    assert deliveries[("late-precedes", "duplicate")] == 1
    assert deliveries[("late-conflict", "duplicate_conflict")] == 1
    assert all(d in {"duplicate", "duplicate_conflict"} for (b, d) in deliveries
               if b not in {"late-precedes", "late-conflict"})
    (grown,) = wh.query(
        "select rows_landed from control.sync_reconciliation where batch_id = 'late-precedes'")[0]
    assert grown == 2
    (conflicting,) = wh.query(
        "select count(*) from control.sync_event_dispositions"
        " where _sync_batch_id = 'late-conflict' and disposition = 'duplicate_conflict'"
    )[0]
    assert conflicting == 1
    assert not wh.query(f"select 1 from control.sync_conflicts where conflict_id = '{resolved}'")
    counts = dict(wh.query(
        "select reconciliation_status, count(*) from control.sync_reconciliation group by 1"))
    assert counts["unannounced"] >= 2  # the two hand-made batches have no ledger entry


def test_a_staged_event_lost_between_incremental_builds_is_still_caught(project_dir, tmp_path) -> None:
    """No newer `_staged_at` marks a staged event that vanishes; the per-batch staged count does."""
    start = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)
    wh = Warehouse(project_dir, tmp_path)
    wh.simulate(seed=22, now=start, entities=100, events=2_000, batches=4)
    wh.dbt("build")
    wh.simulate(seed=22, now=start + timedelta(minutes=10), entities=100, events=2_000, batches=1,
                append=True)
    wh.dbt("build")
    con = duckdb.connect(str(wh.path))
    (lost,) = con.execute(
        f"select _event_id from staging.stg_{TABLE} where _quarantine_reason is null"
        f" and _sync_batch_id = (select min(_sync_batch_id) from staging.stg_{TABLE})"
        " order by _event_id limit 1"
    ).fetchone()
    con.execute(f"delete from staging.stg_{TABLE} where _event_id = ?", [lost])
    # and a state row vanishes with no trace either
    con.execute(
        "delete from state.state_erp__customers where customer_id ="
        " (select min(customer_id) from state.state_erp__customers)"
    )
    con.close()
    run = wh.dbt("build", "--select", "control", check=False)
    assert run.returncode != 0
    lost_rows = dict(wh.query(
        "select landing_table, count(*) from control.sync_event_dispositions"
        " where disposition in ('not_staged', 'unaccounted') group by 1"
    ))
    assert lost_rows[TABLE] == 1
    assert lost_rows["erp__customers"] >= 1
    (status,) = wh.query(f"select status from control.sync_health where flow = '{TABLE}'")[0]
    assert status == "failed"
