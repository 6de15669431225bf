"""The gate bound to its own evidence: rows rebuilt by an invocation that recorded no result,
tests from before the rows were rebuilt, evidence older than the domain's SLO, stale
sources.json and health. Pure inputs, a fixed `now`."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from export_inputs import HELPDESK, NOW, passing, with_domain

from governance.exports.artifacts import Built, NodeRun
from governance.exports.gates import DbtTest, ModelEvidence, evaluate

MODEL = "model.syncgov.exp_helpdesk__customers"
TEST = "test.syncgov.not_null_exp_helpdesk__customers_customer_id.1a"
BUILT = Built("inv-2", NOW - timedelta(minutes=4))


def evidence(run_inv: str | None = "inv-2", test_inv: str | None = "inv-2",
             recorded: timedelta = timedelta(minutes=3), built: Built | None = BUILT,
             slo: int | None = 60) -> ModelEvidence:
    at = NOW - recorded

    def run(status: str, inv: str | None) -> NodeRun | None:
        return None if inv is None else NodeRun(status, None, inv, at)

    return ModelEvidence(MODEL, built, run("success", run_inv),
                         (DbtTest(TEST, run("pass", test_inv)),), slo)


def blocks(inputs, check: str = "evidence") -> list[str]:
    result = evaluate(inputs)
    return [c.message for c in result.reasons if c.check == check and c.status == "block"]


def test_evidence_from_the_building_invocation_passes() -> None:
    inputs = passing(HELPDESK, evidence=(evidence(),))
    assert blocks(inputs) == []
    assert evaluate(inputs).verdict == "publishable"


def test_rows_rebuilt_by_an_invocation_without_results_block() -> None:
    """A killed `dbt build`: the build log says inv-3 replaced the rows after inv-2's results."""
    killed = Built("inv-3", NOW - timedelta(minutes=1))
    messages = blocks(passing(HELPDESK, evidence=(evidence(built=killed),)))
    assert len(messages) == 1
    assert "rebuilt by invocation inv-3" in messages[0]
    assert "recorded no result" in messages[0]
    assert "inv-2" in messages[0]


def test_tests_from_another_invocation_than_the_builder_block() -> None:
    # the model's own result is from inv-2 (the builder) but its test last ran in inv-1, before
    stale = evidence(test_inv="inv-1", recorded=timedelta(minutes=5))
    stale = replace(stale, run=NodeRun("success", None, "inv-2", NOW - timedelta(minutes=3)))
    messages = blocks(passing(HELPDESK, evidence=(stale,)))
    assert len(messages) == 1
    assert "come from another invocation than inv-2" in messages[0]


def test_a_later_invocation_that_only_tested_the_rows_counts() -> None:
    later = evidence(test_inv="inv-9", recorded=timedelta(minutes=1))
    assert blocks(passing(HELPDESK, evidence=(later,))) == []


def test_a_test_never_run_on_rebuilt_rows_blocks() -> None:
    assert blocks(passing(HELPDESK, evidence=(evidence(test_inv=None),)))


def test_test_evidence_older_than_the_slo_blocks() -> None:
    old = evidence(recorded=timedelta(minutes=61), built=Built("inv-2", NOW - timedelta(hours=2)))
    messages = blocks(passing(HELPDESK, evidence=(old,)))
    assert len(messages) == 1
    assert "61.0 min old, older than the 60 min SLO" in messages[0]
    young = evidence(recorded=timedelta(minutes=59), built=Built("inv-2", NOW - timedelta(hours=2)))
    assert blocks(passing(HELPDESK, evidence=(young,))) == []


def test_sources_json_older_than_the_slo_blocks() -> None:
    slo = 60  # customer
    stale = passing(HELPDESK, sources_generated_at=NOW - timedelta(minutes=slo + 1))
    messages = blocks(stale, "source_freshness")
    assert len(messages) == 1
    assert "sources.json" in messages[0]
    fresh = passing(HELPDESK, sources_generated_at=NOW - timedelta(minutes=slo - 1))
    assert blocks(fresh, "source_freshness") == []


def test_sources_json_three_days_old_blocks_the_export() -> None:
    inputs = passing(HELPDESK, sources_generated_at=NOW - timedelta(days=3))
    assert evaluate(inputs).verdict == "blocked"


def test_health_older_than_the_slo_blocks() -> None:
    old = with_domain(passing(HELPDESK), "customer", evaluated_at=NOW - timedelta(minutes=90))
    messages = blocks(old)
    assert len(messages) == 1
    assert "health of 'customer' was computed 90.0 min ago" in messages[0]
    young = with_domain(passing(HELPDESK), "customer", evaluated_at=NOW - timedelta(minutes=30))
    assert blocks(young) == []
