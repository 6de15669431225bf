"""Where a cycle's tests start reading (governance/operate/delta_scope.py): the start of each
job's last clean build, read back from audit.sync_audit_log as the on-run-end hook wrote it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from governance.operate.delta_scope import CLOCK_MARGIN, NO_MARGIN, CycleScope, scope_for
from governance.warehouse.connection import DuckDBConnection

NOW = datetime(2026, 12, 2, 12, 0, 0)


def _audit_log(path: Path, builds: list[tuple[str, str, datetime]]) -> DuckDBConnection:
    """One invocation row per (status, jobs, started_at), as record_audit_log writes it."""
    con = DuckDBConnection(path)
    con.execute("create schema audit")
    con.execute("create table audit.sync_audit_log (invocation_id varchar, command varchar,"
                " node_id varchar, resource_type varchar, status varchar,"
                " invocation_vars varchar, recorded_at timestamp)")
    for n, (status, jobs, started) in enumerate(builds):
        given = {"sync_delta_started_at": started.isoformat(sep=" "), "sync_delta_jobs": jobs}
        con.execute("insert into audit.sync_audit_log values (?, 'build', null, 'invocation',"
                    " ?, ?, ?)", [f"inv-{n}", status, json.dumps(given),
                                  started + timedelta(minutes=1)])
    return con


def test_no_clean_build_on_record_is_a_full_check(tmp_path: Path) -> None:
    con = _audit_log(tmp_path / "w.duckdb", [("error", "sync_customer", NOW - timedelta(hours=1))])
    scope = scope_for(con, ["sync_customer"], NOW)
    assert scope.since is None
    assert scope.build_args() == [], "a full check runs the full_table tests too"
    assert scope.env()["SYNCGOV_DELTA_SINCE"] == ""


def test_the_point_is_the_last_clean_build_and_a_failed_one_does_not_move_it(tmp_path) -> None:
    clean = NOW - timedelta(minutes=30)
    con = _audit_log(tmp_path / "w.duckdb", [
        ("success", "sync_customer", NOW - timedelta(hours=2)),
        ("success", "sync_customer", clean),
        ("error", "sync_customer", NOW - timedelta(minutes=15)),  # its rows: read again
        ("success", "sync_product", NOW - timedelta(minutes=5))])  # another job's
    scope = scope_for(con, ["sync_customer"], NOW, NO_MARGIN)
    assert scope.since == clean
    assert scope.build_args() == ["--exclude", "tag:full_table", "--exclude-resource-type", "unit_test"]
    assert scope.env() == {"SYNCGOV_DELTA_SINCE": "2026-12-02 11:30:00",
                           "SYNCGOV_DELTA_STARTED_AT": "2026-12-02 12:00:00",
                           "SYNCGOV_DELTA_JOBS": "sync_customer"}
    assert scope_for(con, ["sync_customer"], NOW).since == clean - CLOCK_MARGIN


def test_jobs_run_together_read_from_the_earliest_of_their_points(tmp_path: Path) -> None:
    con = _audit_log(tmp_path / "w.duckdb", [
        ("success", "sync_customer,sync_product", NOW - timedelta(hours=3)),
        ("success", "sync_product", NOW - timedelta(minutes=10))])
    scope = scope_for(con, ["sync_customer", "sync_product"], NOW, NO_MARGIN)
    assert scope.since == NOW - timedelta(hours=3)
    assert scope_for(con, ["sync_customer", "sync_order"], NOW).since is None, \
        "a job never built cleanly makes the cycle a full check"


def test_the_environment_is_restored_after_the_build(monkeypatch) -> None:
    monkeypatch.setenv("SYNCGOV_DELTA_SINCE", "kept")
    import os  # noqa: PLC0415

    with CycleScope(NOW, None, ("j",)).environment():
        assert os.environ["SYNCGOV_DELTA_SINCE"] == ""
        assert os.environ["SYNCGOV_DELTA_JOBS"] == "j"
    assert os.environ["SYNCGOV_DELTA_SINCE"] == "kept"
    assert "SYNCGOV_DELTA_JOBS" not in os.environ
