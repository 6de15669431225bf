"""The export gate and tests by cost (issue 18): a delta pass proves the new rows, not the table.

A test a cycle scopes to the delta, or leaves to the nightly job (`full_table`), guards an
export only with a passing result over its whole table from the last FULL_TEST_MAX_AGE.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from export_inputs import HELPDESK, NOW, passing

from governance.exports.artifacts import DELTA, EVERY_CYCLE, FULL_TABLE, Built, NodeRun
from governance.exports.gates import FULL_TEST_MAX_AGE, DbtTest, ModelEvidence, evaluate

UNIQUE = "test.syncgov.unique_customer_state_customer_id.9f"
APPLIED = "test.syncgov.not_null_customer_state__applied_at.3c"
EXPORT_KEY = "test.syncgov.not_null_exp_helpdesk__customers_customer_id.1a"


def _pass(hours_ago: float, status: str = "pass") -> NodeRun:
    return NodeRun(status, None, "inv-full", NOW - timedelta(hours=hours_ago))


def _tests(*, unique_full: NodeRun | None, applied_full: NodeRun | None) -> tuple[DbtTest, ...]:
    cycle = NodeRun("pass", None, "inv-cycle", NOW - timedelta(minutes=2))
    return (DbtTest(UNIQUE, cycle, DELTA, unique_full),
            DbtTest(APPLIED, applied_full, FULL_TABLE, applied_full),
            DbtTest(EXPORT_KEY, cycle, EVERY_CYCLE, None))


def _check(result, name: str):
    (check,) = [c for c in result.checks if c.check == name]
    return check


def test_recent_full_table_passes_publish() -> None:
    result = evaluate(passing(HELPDESK, tests=_tests(unique_full=_pass(3), applied_full=_pass(3))))
    assert result.verdict == "publishable", result.reasons
    check = _check(result, "full_table_tests")
    assert check.status == "pass"
    assert check.observed["guarding"] == 2, "the every-cycle test needs no full result"
    assert check.observed["full_table_only"] == 1


def test_a_full_table_test_never_run_over_the_whole_table_blocks() -> None:
    result = evaluate(passing(HELPDESK, tests=_tests(unique_full=_pass(3), applied_full=None)))
    check = _check(result, "full_table_tests")
    assert result.verdict == "blocked"
    assert check.status == "block"
    assert check.observed["never_run_in_full"] == ["not_null_customer_state__applied_at"]
    assert "syncgov run --cadence full_table_tests" in check.message
    assert "a delta pass proves only the new rows" in check.message


def test_a_delta_pass_does_not_stand_in_for_the_full_table() -> None:
    # the scoped uniqueness test passed in this cycle, over the delta: not enough
    result = evaluate(passing(HELPDESK, tests=_tests(unique_full=None, applied_full=_pass(3))))
    check = _check(result, "full_table_tests")
    assert (result.verdict, check.status) == ("blocked", "block")
    assert check.observed["never_run_in_full"] == ["unique_customer_state_customer_id"]


@pytest.mark.parametrize(("hours", "verdict"), [
    (FULL_TEST_MAX_AGE.total_seconds() / 3600 - 0.1, "publishable"),
    (FULL_TEST_MAX_AGE.total_seconds() / 3600 + 0.1, "blocked")])
def test_a_full_table_pass_older_than_the_nightly_window_blocks(hours: float, verdict: str) -> None:
    result = evaluate(passing(HELPDESK, tests=_tests(unique_full=_pass(1),
                                                     applied_full=_pass(hours))))
    assert result.verdict == verdict, result.reasons
    if verdict == "blocked":
        check = _check(result, "full_table_tests")
        assert len(check.observed["too_old"]) == 1
        assert check.observed["too_old"][0].startswith("not_null_customer_state__applied_at")


def test_a_failed_full_table_run_blocks_even_after_a_delta_pass() -> None:
    result = evaluate(passing(HELPDESK, tests=_tests(unique_full=_pass(2, "fail"),
                                                     applied_full=_pass(2))))
    check = _check(result, "full_table_tests")
    assert check.status == "block"
    assert check.observed["failed_in_full"][0].startswith("unique_customer_state_customer_id (fail")


def test_a_nightly_only_test_is_not_stale_evidence_of_a_newer_build() -> None:
    # the state was rebuilt by the cycle after the nightly run: its delta-scoped tests come
    # from that cycle, the full_table test from the night before — that is by design
    built = Built("inv-cycle", NOW - timedelta(minutes=3))
    tests = _tests(unique_full=_pass(5), applied_full=_pass(5))
    evidence = (ModelEvidence("model.syncgov.customer_state", built,
                              NodeRun("success", None, "inv-cycle", NOW - timedelta(minutes=2)),
                              tests[:2], slo_minutes=60),)
    result = evaluate(passing(HELPDESK, tests=tests, evidence=evidence))
    assert result.verdict == "publishable", result.reasons
    # while a delta-scoped test from another invocation than the build is still stale
    stale = (replace(tests[0], run=_pass(5)), tests[1])
    result = evaluate(passing(HELPDESK, tests=tests, evidence=(replace(evidence[0], tests=stale),)))
    (check,) = [c for c in result.reasons if c.check == "evidence"]
    assert check.observed["stale_tests"] == ["unique_customer_state_customer_id"]
