"""History read from what changed (issue 18) holds the rows the dbt snapshots held.

A copy of the project builds, next to the history models, the dbt snapshots they replaced
(tests/fixtures/history/legacy_snapshots.yml, `legacy.legacy_<domain>_history`) over the same
state, after a first load and after each of ten appends with every fault, hard deletes, a full
refresh of state that brings deleted keys back, and a run with nothing new. After every step
both hold the same rows. The one difference by construction: a deleted version's time (its
`dbt_valid_from`, `dbt_updated_at`, its id, and the `dbt_valid_to` of the version it closes)
is the clock of the run that noticed the key gone, and the snapshot and the model run a few
seconds apart; such a value is compared as "inside that step's build", never ignored.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from governance.dbt_invoke import read_run_results
from governance.simulate.faults import DEMO_FAULTS
from tests.e2e.conftest import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("history")]

REPO = Path(__file__).resolve().parents[2]
LEGACY = REPO / "tests/fixtures/history/legacy_snapshots.yml"
HISTORIES = {"customer": "customer_id", "product": "sku", "inventory": "inventory_id",
             "order": "order_id", "supplier": "supplier_id", "invoice": "invoice_id"}
COPIED = ("dbt_project.yml", "profiles.yml", "macros", "models", "seeds", "tests/dbt")
APPEND_FAULTS = replace(DEMO_FAULTS, recovery=0.3)
# staging, state, the history models and the legacy snapshots; the data tests run once, at the end
STEP = ("build", "--select", "staging", "state", "history", "path:snapshots",
        "--exclude-resource-type", "test", "unit_test")


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    for name in COPIED:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, project / name)
    (project / "snapshots").mkdir()
    shutil.copy2(LEGACY, project / "snapshots/_legacy_snapshots.yml")
    return project


def _versions(wh: Warehouse, relation: str, key: str, windows: list[tuple[datetime, datetime]]) -> Counter:
    """Every version as a tuple, a deleted version's run-time values replaced by the step whose
    build window holds them (a value outside every window fails)."""

    def step_of(at: datetime) -> str:
        steps = [n for n, (begin, end) in enumerate(windows) if begin <= at <= end]
        assert steps, f"{relation}: deletion time {at} is in no step's build"
        return f"<run clock of step {steps[0]}>"

    names = wh.columns(relation)
    rows = [dict(zip(names, r, strict=True)) for r in wh.query(
        f"select * from {relation} order by {key}, dbt_valid_from")]
    for before, row in zip([None, *rows], rows, strict=False):
        if row["dbt_is_deleted"] != "True":
            continue
        when = step_of(row["dbt_valid_from"])
        # the version a deletion closed ends where the deleted one begins
        assert before is not None, row
        assert before[key] == row[key], row
        assert before["dbt_valid_to"] == row["dbt_valid_from"] == row["dbt_updated_at"], row
        row["dbt_valid_from"] = row["dbt_updated_at"] = row["dbt_scd_id"] = when
        before["dbt_valid_to"] = when
    return Counter(tuple(sorted(r.items())) for r in rows)


def _assert_history_equals_the_snapshots(wh: Warehouse, windows: list, step: int) -> None:
    for domain, key in HISTORIES.items():
        ours = _versions(wh, f"snapshots.{domain}_history", key, windows)
        theirs = _versions(wh, f"legacy.legacy_{domain}_history", key, windows)
        assert sum(ours.values()) > 0, domain
        assert ours == theirs, (
            f"step {step}, {domain}: only history {list((ours - theirs).elements())[:2]},"
            f" only snapshot {list((theirs - ours).elements())[:2]}")


def _all_versions(wh: Warehouse, windows: list) -> dict[str, Counter]:
    return {d: _versions(wh, f"snapshots.{d}_history", k, windows) for d, k in HISTORIES.items()}


def _hard_delete(wh: Warehouse, relations: dict[str, int]) -> None:
    """Rows vanish from state without a tombstone (a state rebuilt without them)."""
    con = duckdb.connect(str(wh.path))
    try:
        for domain, count in relations.items():
            key = HISTORIES[domain]
            con.execute(f"delete from state.{domain}_state where {key} in (select {key}"
                        f" from state.{domain}_state order by {key} limit {count})")
    finally:
        con.close()


def test_history_holds_the_rows_the_snapshots_held_after_ten_appends(tmp_path: Path) -> None:
    start = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=4)
    wh = Warehouse(_project(tmp_path), tmp_path / "warehouse")
    wh.root.mkdir()
    wh.simulate(seed=31, now=start, entities=80, events=1_500, batches=4, faults=DEMO_FAULTS)
    wh.dbt("seed")
    windows: list[tuple[datetime, datetime]] = []

    def step() -> None:
        begin = datetime.now(UTC).replace(tzinfo=None)
        wh.dbt(*STEP)
        windows.append((begin, datetime.now(UTC).replace(tzinfo=None)))
        _assert_history_equals_the_snapshots(wh, windows, len(windows) - 1)

    step()
    for n in range(1, 11):
        if n != 8:  # step 8: nothing new, nothing may change
            wh.simulate(seed=31, now=start + timedelta(minutes=10 * n), entities=80,
                        events=1_500, batches=1, faults=APPEND_FAULTS, append=True)
        if n in (3, 7):
            _hard_delete(wh, {"customer": 3, "product": 2, "order": 1})
        if n == 5:
            # rebuilt state: every key a new version, the hard-deleted keys come back
            wh.dbt("run", "--full-refresh", "--select", "state")
        idle = _all_versions(wh, windows) if n == 8 else None
        step()
        if idle is not None:
            assert _all_versions(wh, windows) == idle

    (deleted, back) = wh.query(
        "select count(*) filter (where dbt_is_deleted = 'True'),"
        " count(*) filter (where dbt_is_deleted = 'True' and dbt_valid_to < timestamp '9999-12-31')"
        " from (select dbt_is_deleted, dbt_valid_to from snapshots.customer_history union all"
        " select dbt_is_deleted, dbt_valid_to from snapshots.product_history union all"
        " select dbt_is_deleted, dbt_valid_to from snapshots.order_history)")[0]
    # deletions happened (a hard-deleted key with a new event in the same append is rebuilt
    # by state and never leaves it), and deleted keys came back (the full refresh of state)
    assert deleted >= 2
    assert back >= 1
    # the history's data tests pass (no overlapping windows, unique ids)
    wh.dbt("test", "--select", "history")

    # --full-refresh keeps history: it cannot be rebuilt from current state
    kept = _all_versions(wh, windows)
    wh.dbt("run", "--full-refresh", "--select", "history")
    assert _all_versions(wh, windows) == kept

    # what a rebuild from scratch can give, the current slice: dropped and built again, each
    # history holds exactly the live current versions the incremental one holds
    current = ("select * from snapshots.{d}_history"
               " where dbt_valid_to = timestamp '9999-12-31' and dbt_is_deleted = 'False'")
    incremental = {d: Counter(wh.query(current.format(d=d))) for d in HISTORIES}
    con = duckdb.connect(str(wh.path))
    for d in HISTORIES:
        con.execute(f"drop table snapshots.{d}_history")
    con.close()
    wh.dbt("run", "--select", "history")
    for d in HISTORIES:
        rebuilt = Counter(wh.query(f"select * from snapshots.{d}_history"))
        assert rebuilt == incremental[d], d


def test_an_unclosed_version_fails_the_no_overlap_test(tmp_path: Path) -> None:
    """A second current version of a key whose previous one was left open overlaps it."""
    wh = Warehouse(_project(tmp_path), tmp_path / "warehouse")
    wh.root.mkdir()
    wh.simulate(seed=32, entities=40, events=600, batches=2)
    wh.dbt("seed")
    wh.dbt("run", "--select", "staging", "state", "history")
    wh.dbt("test", "--select", "customer_history")
    con = duckdb.connect(str(wh.path))
    con.execute(
        "insert into snapshots.customer_history select * replace ("
        " md5('open') as dbt_scd_id, dbt_valid_from + interval 1 minute as dbt_valid_from)"
        " from snapshots.customer_history order by customer_id limit 1")
    con.close()
    failed = wh.dbt("test", "--select", "customer_history", check=False)
    assert failed.returncode != 0
    assert [(n.name, n.status) for n in read_run_results(wh.target).notable] == [
        ("no_overlapping_windows_customer_history_customer_id", "fail")]
