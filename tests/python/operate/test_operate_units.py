"""The lock, the cycle journal, the published snapshot and the narrow status table, without
dbt: a fixed `now`, hand-written rows, the real flock and a real (empty) DuckDB file."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from governance.errors import InputError, LockTimeout
from governance.operate import journal
from governance.operate.lock import WarehouseLock
from governance.published import load_published, read_view, write_snapshot
from governance.registry import load_registry
from governance.status import render_table, status_board
from governance.warehouse.connection import DuckDBConnection
from tests.python.test_status import health, snapshot

REPO = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 24, 12, 0)


def test_the_lock_serialises_and_times_out(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    first = WarehouseLock(warehouse).exclusive(0, "run sync_customer").acquire()
    try:
        assert WarehouseLock(warehouse).held_elsewhere()
        with pytest.raises(LockTimeout, match=r"held by run sync_customer \(pid \d+"):
            WarehouseLock(warehouse).exclusive(0.3, "run sync_product").acquire()
        assert not WarehouseLock(warehouse).shared(0).try_acquire(), "readers see it taken"
    finally:
        first.release()
    assert not WarehouseLock(warehouse).held_elsewhere()
    with WarehouseLock(warehouse).exclusive(0, "run sync_product") as second:
        assert second.holder().what == "run sync_product"
        assert second.holder().pid == os.getpid()


def test_an_unfinished_run_shows_until_a_later_run_completes() -> None:
    con = DuckDBConnection(":memory:")
    journal.record(con, cycle_id="c1", kind="run", selection="sync_customer",
                   event="started", at=NOW)
    journal.record(con, cycle_id="r1", kind="replay", selection="domain customer since x",
                   event="started", at=NOW + timedelta(minutes=1))
    assert [u.cycle_id for u in journal.unfinished(con)] == ["c1", "r1"]
    assert "unfinished run sync_customer since 2026-11-24 12:00:00 UTC" in \
        journal.describe(journal.unfinished(con)[0])
    journal.record(con, cycle_id="c2", kind="run", selection="sync_product", event="started",
                   at=NOW + timedelta(minutes=2))
    assert [u.cycle_id for u in journal.unfinished(con)] == ["c1", "r1", "c2"]
    journal.record(con, cycle_id="c2", kind="run", selection="sync_product", event="ok",
                   at=NOW + timedelta(minutes=3))
    # the run is made good by the later complete run; the replay must be re-run
    assert [u.cycle_id for u in journal.unfinished(con)] == ["r1"]
    journal.record(con, cycle_id="p1", kind="replay", selection="domain product since x",
                   event="ok", at=NOW + timedelta(minutes=3))
    assert [u.cycle_id for u in journal.unfinished(con)] == ["r1"], "another domain's replay"
    journal.record(con, cycle_id="r2", kind="replay", selection="domain customer since x",
                   event="started", at=NOW + timedelta(minutes=4))
    journal.record(con, cycle_id="r2", kind="replay", selection="domain customer since x",
                   event="ok", at=NOW + timedelta(minutes=5))
    assert journal.unfinished(con) == ()


def test_a_failed_run_does_not_clear_an_unfinished_one() -> None:
    con = DuckDBConnection(":memory:")
    journal.record(con, cycle_id="c1", kind="run", selection="a", event="started", at=NOW)
    journal.record(con, cycle_id="c2", kind="run", selection="a", event="started",
                   at=NOW + timedelta(minutes=1))
    journal.record(con, cycle_id="c2", kind="run", selection="a", event="failed",
                   at=NOW + timedelta(minutes=2))
    assert [u.cycle_id for u in journal.unfinished(con)] == ["c1"]


def test_readers_take_the_published_snapshot_while_a_cycle_holds_the_lock(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    duckdb.connect(str(warehouse)).close()  # a real file without control tables
    published = tmp_path / "published"
    written = snapshot([health("inventory", "delayed")])
    write_snapshot(written, published, NOW, ("unfinished run sync_customer since …",))
    assert load_published(published) == (written, NOW, ("unfinished run sync_customer since …",))
    with WarehouseLock(warehouse).exclusive(0, "run sync_inventory"):
        view = read_view(warehouse, directory=published)
        assert not view.live
        assert view.snapshot == written
        assert view.unfinished == ("unfinished run sync_customer since …",)
        note = view.note(NOW + timedelta(minutes=5))
        assert "busy (run sync_inventory since" in note
        assert "published at 2026-11-24 12:00:00 UTC, 5 min old; --wait to read it live" in note
        with pytest.raises(InputError, match="still busy"):
            read_view(warehouse, wait=0.2, directory=published)
    # free: read live (here that means the control tables are missing)
    with pytest.raises(InputError, match="no control tables yet"):
        read_view(warehouse, directory=published)


def test_busy_without_a_published_snapshot_says_what_to_do(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    duckdb.connect(str(warehouse)).close()
    with WarehouseLock(warehouse).exclusive(0, "run x"), \
            pytest.raises(InputError, match="no snapshot is published"):
        read_view(warehouse, directory=tmp_path / "none")


def test_status_keeps_status_and_reason_at_80_columns() -> None:
    rows = [health("inventory", "delayed"),
            health("inventory", "delayed", level="flow", flow="wms__inventory_movements")]
    board = status_board(snapshot(rows), load_registry(REPO / "registry"))
    console = Console(width=80, record=True, color_system=None, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(render_table(board, wide=False))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    header = next(line for line in text.splitlines() if "domain / flow" in line)
    assert "status" in header
    assert "reason" in header
    assert "quarantined" not in header
    row = next(line for line in text.splitlines() if "inventory " in line)
    assert "delayed PAGE" in row
    assert "inventory:" in row  # the reason starts on the row itself


def test_a_dbt_outcome_separates_failed_nodes_from_a_dbt_that_could_not_run(tmp_path: Path) -> None:
    """Exit 1 with results is "nodes failed" (the cycle goes on and the gate blocks); any other
    exit, or no run_results.json, is a dbt that could not run (exit 3 of `syncgov run`)."""
    import json  # noqa: PLC0415

    from governance.operate.cycle import CouldNotRun, _dbt_outcome  # noqa: PLC0415

    log = tmp_path / "build.log"
    with pytest.raises(CouldNotRun, match=r"`dbt build` could not run \(exit 0\)"):
        _dbt_outcome("dbt build", 0, tmp_path, log)  # no results at all
    (tmp_path / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": "model.syncgov.a", "status": "success"},
        {"unique_id": "test.syncgov.t1", "status": "fail", "message": "2 rows"},
        {"unique_id": "test.syncgov.t2", "status": "warn"},
        {"unique_id": "model.syncgov.b", "status": "error"},
    ]}))
    with pytest.raises(CouldNotRun, match=r"`dbt test` could not run \(exit 2\)"):
        _dbt_outcome("dbt test", 2, tmp_path, log)
    summary, failed = _dbt_outcome("dbt build", 1, tmp_path, log)
    assert summary.count("success") == 1
    assert [n.unique_id for n in failed] == ["test.syncgov.t1", "model.syncgov.b"], "warn is no failure"
