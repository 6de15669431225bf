"""sync_orphaned_state: a state row no valid staged delivery backs is a lost event, found by an
incremental check of what changed, and by a full one."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from tests.e2e.conftest import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("orphaned_state")]

TABLE = "crm__accounts"
ORPHANS = ("select landing_table, entity_key, _event_id from control.sync_orphaned_state"
           " where check_kind = 'orphaned'")


def _land_invalid_earlier_delivery(wh: Warehouse) -> tuple[str, str]:
    """An earlier delivery of an event state holds commits late, with an invalid segment:
    staging replaces the staged delivery with it and quarantines it; state, which only moves
    forward, keeps the valid one, which no valid staged delivery backs any more."""
    con = duckdb.connect(str(wh.path))
    try:
        key, event_id, loaded_at = con.execute(
            "select held.customer_id, held._event_id, held._loaded_at"
            " from state.state_crm__accounts as held"
            " where not held._is_deleted order by held.customer_id limit 1"
        ).fetchone()
        con.execute(
            f"insert into landing.{TABLE} select * replace ('late-invalid' as _sync_batch_id,"
            f" timestamp '{loaded_at - timedelta(seconds=1)}' as _loaded_at,"
            " 'not-a-segment' as segment)"
            f" from landing.{TABLE} where _event_id = ? limit 1", [event_id],
        )
    finally:
        con.close()
    return key, event_id


def test_a_state_row_staging_no_longer_backs_is_found_and_fails_the_flow(project_dir, tmp_path) -> None:
    start = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)
    wh = Warehouse(project_dir, tmp_path / "incremental")
    wh.simulate(seed=31, now=start, entities=100, events=2_000, batches=4)
    wh.dbt("build")
    assert wh.query(ORPHANS) == []
    checked = wh.query("select landing_table, checked_at from control.sync_orphaned_state"
                       " where check_kind = 'checked' order by 1")
    assert len(checked) == len({r[0] for r in checked}) > 1  # one row per landing table

    key, event_id = _land_invalid_earlier_delivery(wh)
    run = wh.dbt("build", check=False)
    assert run.returncode != 0  # assert_no_landed_event_is_lost
    assert wh.query(f"select _quarantine_reason from staging.stg_{TABLE}"
                    f" where _event_id = '{event_id}'") == [("invalid_enum",)]
    assert wh.query(ORPHANS) == [(TABLE, key, event_id)]
    flow = wh.query("select status, lost_events from control.sync_health"
                    f" where level = 'flow' and flow = '{TABLE}'")
    assert flow == [("failed", 1)]
    # every table was checked again, and its marker moved on
    assert all(new > old for (_, old), (_, new) in zip(checked, wh.query(
        "select landing_table, checked_at from control.sync_orphaned_state"
        " where check_kind = 'checked' order by 1"), strict=True))

    # a full check from scratch finds the same row
    full = Warehouse(wh.project, tmp_path / "full")
    (tmp_path / "full").mkdir()
    shutil.copyfile(wh.path, full.path)
    full.dbt("run", "--full-refresh", "--select", "sync_orphaned_state")
    assert full.query(ORPHANS) == [(TABLE, key, event_id)]

    # an orphan stays found while nothing backs it, though nothing new touches it
    wh.dbt("run", "--select", "sync_orphaned_state")
    assert wh.query(ORPHANS) == [(TABLE, key, event_id)]
    # the orphan is checked again each run: once state holds a valid delivery, it is gone
    con = duckdb.connect(str(wh.path))
    con.execute(
        "update state.state_crm__accounts set _event_id = s._event_id, _loaded_at = s._loaded_at,"
        " _sync_batch_id = s._sync_batch_id from ("
        f"   select _event_id, _loaded_at, _sync_batch_id from staging.stg_{TABLE}"
        "    where _quarantine_reason is null and customer_id = ? order by _event_id limit 1) as s"
        " where customer_id = ?", [key, key])
    con.close()
    wh.dbt("run", "--select", "sync_orphaned_state")
    assert wh.query(ORPHANS) == []


def test_the_incremental_check_reads_only_what_changed(project_dir, tmp_path) -> None:
    """A state row changed behind the models' back (no new `_applied_at`, no re-staging) is
    not re-checked by an incremental run: what it reads is what changed. `--full-refresh`
    checks every row and finds it."""
    start = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)
    wh = Warehouse(project_dir, tmp_path)
    wh.simulate(seed=32, now=start, entities=100, events=2_000, batches=4)
    wh.dbt("build")
    con = duckdb.connect(str(wh.path))
    (key,) = con.execute("select min(customer_id) from state.state_crm__accounts"
                         " where not _is_deleted").fetchone()
    con.execute("update state.state_crm__accounts set _loaded_at = _loaded_at - interval 1 hour"
                " where customer_id = ?", [key])
    con.close()
    wh.dbt("run", "--select", "sync_orphaned_state")
    assert wh.query(ORPHANS) == []
    wh.dbt("run", "--full-refresh", "--select", "sync_orphaned_state")
    assert [r[:2] for r in wh.query(ORPHANS)] == [(TABLE, key)]
