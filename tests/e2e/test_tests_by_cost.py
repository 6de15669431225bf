"""Tests by cost (issue 18) on a real warehouse built by the real dbt, through `syncgov run`.

One history of cycles of `sync_customer` and the nightly `full_table_tests` job, recorded once
(a module fixture) and judged by one test per claim:

1. a fault in the delta is caught by the every-cycle set, and stays caught by the next cycle
   (the scope does not move past a failed build);
2. the every-cycle set reads only the delta: an old row that violates a scoped test passes
   the cycle and fails the nightly full run;
3. a duplicate between an old row and a new one is caught by the every-cycle set, because a
   uniqueness test reads every row of the keys the delta touched;
4. the export gate refuses an export whose guarding test has no recent full-table pass, even
   when the cycle's delta pass of that test is green, and publishes once the nightly passes.

Staging quarantines a null key or a bad enum as it lands (they never reach a test), so the
faults are written where a test guards them: into state, with an `_applied_at` inside or
outside the delta — what a bug in a model, a manual write or a corrupted table would leave.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from governance.operate.cycle import CycleOptions, CycleResult, Selection, run_cycle
from tests.e2e.conftest import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("tests_by_cost")]

REPO = Path(__file__).resolve().parents[2]
SEGMENT = "accepted_values_customer_state_segment"
UNIQUE_CRM = "unique_state_crm__accounts_customer_id"
NULL_KEY_CRM = "not_null_state_crm__accounts_customer_id"
APPLIED_AT = "not_null_customer_state__applied_at"  # full_table: its own scope column
EXPORT = "helpdesk_customers"


@dataclass
class History:
    wh: Warehouse
    cycles: dict[str, CycleResult] = field(default_factory=dict)
    old_key: str = ""
    dup_key: str = ""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _cycle(h: History, label: str, cadence: str = "sync_customer") -> CycleResult:
    options = CycleOptions(project_dir=REPO, registry_dir=REPO / "registry", warehouse=h.wh.path,
                           selection=Selection(cadence=cadence), wait_seconds=60,
                           target_root=h.wh.root / "cycles", published=h.wh.root / "published")
    h.cycles[label] = run_cycle(options)
    return h.cycles[label]


def _write(wh: Warehouse, sql: str, params: list | None = None) -> None:
    con = duckdb.connect(str(wh.path))
    try:
        con.execute(sql, params or [])
    finally:
        con.close()


def results(result: CycleResult) -> dict[str, str]:
    """Test name (without the hash) -> status, of the cycle's last dbt invocation."""
    data = json.loads((result.target_dir / "run_results.json").read_text())
    return {r["unique_id"].split(".")[2]: r["status"] for r in data["results"]
            if r["unique_id"].startswith("test.")}


def status(result: CycleResult, prefix: str) -> str | None:
    found = {n: s for n, s in results(result).items() if n.startswith(prefix)}
    assert len(found) <= 1, found
    return next(iter(found.values()), None)


def step(result: CycleResult, name: str):
    (found,) = [s for s in result.steps if s.name == name]
    return found


def full_table_check(result: CycleResult, export_id: str = EXPORT):
    """The gate's full_table_tests check of an export, when it did not pass."""
    (outcome,) = [o for o in result.exports.outcomes if o.export_id == export_id]
    found = [c for c in outcome.reasons if c.check == "full_table_tests"]
    return found[0] if found else None


@pytest.fixture(scope="module")
def history(project_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> History:
    wh = Warehouse(project_dir, tmp_path_factory.mktemp("tests_by_cost"))
    wh.simulate(seed=18, now=datetime.now(UTC), events=3000, entities=150, batches=4)
    wh.dbt("build")  # seeds and every model: what a deployment starts from
    h = History(wh)
    _cycle(h, "first")  # no clean build on record: a full check, full_table tests included
    _cycle(h, "second")  # scoped to the delta since the first one began (all its rows)
    # (2) an old row breaks a scoped test: applied by the first cycle, before the second began
    h.old_key = wh.query("select min(customer_id) from state.customer_state"
                         " where not _is_deleted")[0][0]
    _write(wh, "update state.customer_state set segment = 'bogus' where customer_id = ?",
           [h.old_key])
    _cycle(h, "old_fault")  # the delta since the second began: the old row is not in it
    _cycle(h, "nightly_fails", "full_table_tests")
    _cycle(h, "after_failed_nightly")  # (4) the delta is clean, the full table is not
    _write(wh, "update state.customer_state set segment = 'smb' where customer_id = ?",
           [h.old_key])
    _cycle(h, "nightly_passes", "full_table_tests")
    _cycle(h, "after_passing_nightly")
    # (1) and (3): rows applied after that cycle began are the next cycle's delta — a copy of an
    # old key's row (a duplicate between an old and a new row) and a row with a null key. Both
    # in one model: a failing test skips the models downstream of its model, and their tests
    h.dup_key = wh.query("select min(customer_id) from state.state_crm__accounts")[0][0]
    _write(wh, "insert into state.state_crm__accounts select * replace (? as _applied_at)"
           " from state.state_crm__accounts where customer_id = ?", [_now(), h.dup_key])
    _write(wh, "insert into state.state_crm__accounts select * replace (null as customer_id,"
           " ? as _applied_at) from state.state_crm__accounts where customer_id = ?",
           [_now(), h.dup_key])
    _cycle(h, "new_fault")
    _cycle(h, "new_fault_again")  # the failed build did not move the scope
    return h


def test_the_first_cycle_is_a_full_check_and_the_next_ones_read_the_delta(history) -> None:
    first, second = history.cycles["first"], history.cycles["second"]
    assert "full check" in step(first, "build").summary
    assert status(first, APPLIED_AT) == "pass", "a full check runs the full_table tests too"
    assert "scoped to the delta since" in step(second, "build").summary
    assert status(second, APPLIED_AT) is None, "a delta cycle leaves full_table tests out"
    assert status(second, SEGMENT) == "pass"
    # the first cycle's full pass is recent evidence for the export's scoped tests
    assert full_table_check(second) is None


def test_the_every_cycle_set_reads_only_the_delta(history) -> None:
    # (2) the old row violates accepted_values on segment; the cycle's delta does not hold it
    assert status(history.cycles["old_fault"], SEGMENT) == "pass"
    nightly = history.cycles["nightly_fails"]
    assert status(nightly, SEGMENT) == "fail", "the nightly run reads the whole table"
    assert not step(nightly, "full_tests").ok
    assert "failed" in step(nightly, "full_tests").summary
    assert status(history.cycles["nightly_passes"], SEGMENT) == "pass"


def test_a_fault_in_the_delta_is_caught_every_cycle_until_repaired(history) -> None:
    # (1) a row with a null key, applied after the previous cycle began
    assert status(history.cycles["old_fault"], NULL_KEY_CRM) == "pass"
    assert status(history.cycles["new_fault"], NULL_KEY_CRM) == "fail"
    assert not step(history.cycles["new_fault"], "build").ok
    # the failed build does not move the point: the same rows are read, and fail, again
    again = history.cycles["new_fault_again"]
    assert status(again, NULL_KEY_CRM) == "fail"
    assert "scoped to the delta" in step(again, "build").summary


def test_a_duplicate_of_an_old_row_by_a_new_one_is_caught_by_touched_keys(history) -> None:
    # (3) the new row's key also has an old row: the touched-key scope reads both
    assert status(history.cycles["old_fault"], UNIQUE_CRM) == "pass"
    assert status(history.cycles["new_fault"], UNIQUE_CRM) == "fail"
    assert status(history.cycles["new_fault_again"], UNIQUE_CRM) == "fail"


def test_the_gate_refuses_an_export_without_a_recent_full_table_pass(history) -> None:
    # (4) the cycle's delta pass of the segment test is green, its full-table result failed
    blocked = history.cycles["after_failed_nightly"]
    assert status(blocked, SEGMENT) == "pass"
    check = full_table_check(blocked)
    assert check is not None
    assert check.status == "block"
    assert any(f.startswith(SEGMENT) for f in check.observed["failed_in_full"]), check.observed
    assert "syncgov run --cadence full_table_tests" in check.message
    (outcome,) = [o for o in blocked.exports.outcomes if o.export_id == EXPORT]
    assert outcome.verdict == "blocked"
    # once the nightly run passes over the whole table, the requirement is met
    assert full_table_check(history.cycles["after_passing_nightly"]) is None
