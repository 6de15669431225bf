"""The export gate, check by check and rule by rule, on the demo registry's exports.

The gate is a pure function of its inputs, so each test starts from inputs where everything
passes and breaks exactly one piece of evidence.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from export_inputs import (
    HELPDESK,
    PROCUREMENT,
    SPECS,
    STOREFRONT,
    fresh,
    manifest,
    passing,
    with_domain,
)

from governance.exports.artifacts import NodeRun
from governance.exports.gates import DbtTest, GateResult, evaluate
from governance.exports.spec import ExportSpec, FieldSpec
from governance.findings import Finding, Severity


def only(result: GateResult, check: str, status: str | None = None):
    found = [c for c in result.reasons if c.check == check]
    assert found, [c.check for c in result.reasons]
    others = [c.check for c in result.reasons if c.check != check]
    assert others == [], others
    if status:
        assert {c.status for c in found} == {status}
    return found[0]


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS)
def test_everything_passing_is_publishable(spec: ExportSpec) -> None:
    result = evaluate(passing(spec))
    assert result.verdict == "publishable"
    assert result.reasons == ()
    assert result.effective_schedule == spec.schedule
    assert (result.retry_at, result.held_for, result.degraded) == (None, (), False)
    assert {c.check for c in result.checks} >= {
        "write_back", "clearance", "declared_fields", "registry_lint", "dbt_model", "dbt_tests",
        "domain_status", "unreconciled_batches", "source_freshness", "quarantine_ratio", "drift",
        "open_conflicts", "row_count_change"}


# ---- registry safety, enforced again at export time ----

def test_a_field_written_back_to_its_system_of_record_blocks() -> None:
    spec = replace(STOREFRONT, target_system="pim")
    check = only(evaluate(passing(spec)), "write_back", "block")
    assert check.observed == ["product.product_name", "product.category",
                              "product.lifecycle_status"]
    assert check.threshold == "no field owned by pim"


def test_a_field_above_the_targets_clearance_blocks() -> None:
    spec = replace(STOREFRONT, target_clearance="public")
    check = only(evaluate(passing(spec)), "clearance", "block")
    # the match key is sent like any field: sku (internal) is above `public` too
    assert check.observed == ["product.sku (internal)", "inventory.quantity_on_hand (internal)"]
    assert check.threshold == "public"


def test_a_key_above_the_targets_clearance_blocks() -> None:
    # the case: a pii column as the match key, into a target cleared for internal
    email_key = (replace(HELPDESK.key_fields[0], field="email", classification="pii"),)
    spec = replace(HELPDESK, target_clearance="internal", key_fields=email_key,
                   fields=tuple(f for f in HELPDESK.fields if f.classification == "internal"))
    check = only(evaluate(passing(spec)), "clearance", "block")
    assert check.observed == ["customer.email (pii)"]


def test_an_unclassified_key_blocks_and_is_not_labelled_internal() -> None:
    bare = (replace(HELPDESK.key_fields[0], owner=None, classification=None),)
    spec = replace(HELPDESK, key_fields=bare)
    check = only(evaluate(passing(spec)), "declared_fields", "block")
    assert check.observed == ["key customer.customer_id"]
    key = next(f for f in manifest(spec)["fields"] if f["role"] == "key")
    assert key["classification"] is None
    assert next(f for f in manifest(HELPDESK)["fields"]
                if f["role"] == "key")["classification"] == "internal"


def test_safety_blocks_even_when_the_export_does_not_require_a_clean_lint() -> None:
    spec = replace(HELPDESK, target_clearance="internal",
                   gate=replace(HELPDESK.gate, require_lint_clean=False))
    result = evaluate(passing(spec))
    assert result.verdict == "blocked"
    assert only(result, "clearance").observed == [
        "customer.email (pii)", "customer.phone (pii)", "customer.credit_status (confidential)"]


def test_an_undeclared_field_blocks() -> None:
    spec = replace(HELPDESK, fields=(*HELPDESK.fields, FieldSpec("x", "customer", "nickname", None,
                                                                  None)))
    result = evaluate(passing(spec, model_columns=frozenset(spec.columns)))
    assert only(result, "declared_fields", "block").observed == ["customer.nickname"]


# ---- registry lint ----

def _finding(rule: str, severity: Severity) -> Finding:
    return Finding(Path("registry/exports.yml"), 12, rule, severity,
                   "exports.helpdesk_customers.model", f"{rule} says so")


def test_a_lint_error_blocks_and_a_warning_warns() -> None:
    error = evaluate(passing(HELPDESK, lint_findings=(_finding("SG505", Severity.ERROR),)))
    check = only(error, "registry_lint", "block")
    assert check.observed == ["SG505 registry/exports.yml:12 SG505 says so"]
    warning = evaluate(passing(HELPDESK, lint_findings=(_finding("SG202", Severity.WARNING),)))
    assert warning.verdict == "warn"
    only(warning, "registry_lint", "warn")


def test_a_lint_error_only_warns_when_the_export_allows_it() -> None:
    spec = replace(HELPDESK, gate=replace(HELPDESK.gate, require_lint_clean=False))
    result = evaluate(passing(spec, lint_findings=(_finding("SG505", Severity.ERROR),)))
    assert result.verdict == "warn"


def test_safety_rule_findings_are_left_to_the_safety_checks() -> None:
    result = evaluate(passing(HELPDESK, lint_findings=(_finding("SG404", Severity.ERROR),)))
    assert result.verdict == "publishable"


# ---- dbt: the model and the tests on it and upstream ----

@pytest.mark.parametrize(("changes", "observed"), [
    ({"model_in_manifest": False}, "missing"),
    ({"model_run": None}, "not run"),
    ({"model_run": NodeRun("skipped", None)}, "skipped"),
    ({"model_run": NodeRun("error", "contract")}, "error"),
    ({"model_built": False}, "no relation"),
])
def test_a_model_that_did_not_build_blocks(changes: dict, observed: str) -> None:
    check = only(evaluate(passing(HELPDESK, **changes)), "dbt_model", "block")
    assert check.observed == observed


def test_a_mapped_column_missing_from_the_model_contract_blocks() -> None:
    columns = frozenset(HELPDESK.columns) - {"phone"}
    check = only(evaluate(passing(HELPDESK, model_columns=columns)), "dbt_model", "block")
    assert check.observed == ["phone"]


@pytest.mark.parametrize(("status", "outcome", "bucket"), [
    ("fail", "block", "failed"), ("error", "block", "failed"), ("skipped", "block", "skipped"),
    (None, "block", "not_run"), ("warn", "warn", "warned")])
def test_tests_on_the_export_and_upstream_state(status: str | None, outcome: str,
                                                bucket: str) -> None:
    tests = (DbtTest("test.syncgov.unique_customer_state_customer_id.9f", NodeRun(status, "1")
                        if status else None),
             DbtTest("test.syncgov.not_null_exp_helpdesk__customers_customer_id.1a",
                        NodeRun("pass", None)))
    check = only(evaluate(passing(HELPDESK, tests=tests)), "dbt_tests", outcome)
    assert check.observed[bucket] == ["unique_customer_state_customer_id"]
    assert check.observed["tests"] == 2


def test_an_export_no_test_covers_blocks() -> None:
    only(evaluate(passing(HELPDESK, tests=())), "dbt_tests", "block")


# ---- degradation rules of a domain that is not current ----

@pytest.mark.parametrize("status", ["delayed", "failed", "unknown"])
def test_pause_downstream_blocks(status: str) -> None:
    inputs = with_domain(passing(STOREFRONT), "product", status=status)
    check = only(evaluate(inputs), "domain_status", "block")
    assert (check.domain, check.action, check.observed) == ("product", "pause_downstream", status)


def test_queue_holds_the_export_until_the_domain_recovers() -> None:
    result = evaluate(with_domain(passing(PROCUREMENT), "supplier", status="failed"))
    check = only(result, "domain_status", "block")
    assert check.action == "queue"
    assert result.held_for == ("supplier",)
    assert result.retry_at is None
    assert "held until it is current again" in check.message


def test_degrade_to_batch_warns_and_slows_the_schedule() -> None:
    result = evaluate(with_domain(passing(STOREFRONT), "inventory", status="delayed"))
    check = only(result, "domain_status", "warn")
    assert check.action == "degrade_to_batch"
    assert result.verdict == "warn"
    assert result.degraded is True
    assert result.effective_schedule == STOREFRONT.degraded_schedule == "*/30 * * * *"


def test_retry_blocks_and_names_the_next_attempt() -> None:
    # customer syncs at */15, the helpdesk export runs at */30: at 10:07 the domain retries at
    # 10:15, and the export's first run after that is 10:30
    result = evaluate(with_domain(passing(HELPDESK), "customer", status="delayed"))
    check = only(result, "domain_status", "block")
    assert check.action == "retry"
    assert check.retry_at == result.retry_at == datetime(2026, 11, 24, 10, 30)
    assert "next attempt at 2026-11-24 10:30 UTC" in check.message


def test_a_domain_without_health_is_unknown_and_degrades() -> None:
    inputs = passing(PROCUREMENT)
    inputs = replace(inputs, domains=tuple(replace(d, health=None) for d in inputs.domains))
    check = only(evaluate(inputs), "domain_status", "block")
    assert (check.observed, check.action) == ("unknown", "queue")


def test_a_domain_missing_from_the_registry_pauses_downstream() -> None:
    inputs = passing(PROCUREMENT)
    inputs = replace(inputs, domains=tuple(replace(d, spec=None, health=replace(
        d.health, status="delayed")) for d in inputs.domains))
    assert only(evaluate(inputs), "domain_status", "block").action == "pause_downstream"


def test_unreconciled_batches_within_tolerance_warn_and_beyond_degrade() -> None:
    assert STOREFRONT.gate.max_unreconciled_batches == 10
    within = evaluate(with_domain(passing(STOREFRONT), "product", status="partial",
                                  unreconciled_batches=10))
    assert only(within, "unreconciled_batches", "warn").observed == 10
    beyond = evaluate(with_domain(passing(STOREFRONT), "product", status="partial",
                                  unreconciled_batches=11))
    check = only(beyond, "unreconciled_batches", "block")
    assert (check.observed, check.threshold, check.action) == (11, 10, "pause_downstream")


def test_a_partial_domain_is_judged_by_its_unreconciled_batches_not_its_status() -> None:
    result = evaluate(with_domain(passing(PROCUREMENT), "supplier", status="partial",
                                  unreconciled_batches=1))
    check = only(result, "unreconciled_batches", "block")
    assert check.action == "queue"


# ---- freshness ----

def test_a_stale_source_applies_the_domains_rule() -> None:
    inputs = with_domain(passing(HELPDESK), "customer", sources=(fresh("customer", "error", 97),))
    check = only(evaluate(inputs), "source_freshness", "block")
    assert check.observed == {"source": "customer_system.customer_events", "status": "error",
                              "age_minutes": 97.0}
    assert (check.threshold, check.action) == ("60 minute", "retry")


def test_a_source_past_its_warn_threshold_warns() -> None:
    inputs = with_domain(passing(HELPDESK), "customer", sources=(fresh("customer", "warn", 40),))
    only(evaluate(inputs), "source_freshness", "warn")


def test_without_freshness_results_the_export_is_blocked() -> None:
    check = only(evaluate(passing(HELPDESK, freshness_checked=False)), "source_freshness", "block")
    assert check.observed == "no sources.json"


def test_stale_sources_only_warn_when_fresh_upstream_is_not_required() -> None:
    spec = replace(HELPDESK, gate=replace(HELPDESK.gate, require_upstream_fresh=False))
    inputs = with_domain(passing(spec), "customer", sources=(fresh("customer", "error", 97),))
    assert evaluate(inputs).verdict == "warn"


def test_a_source_freshness_did_not_check_warns() -> None:
    inputs = with_domain(passing(HELPDESK), "customer",
                         sources=(("source.syncgov.crm.accounts", None),))
    assert only(evaluate(inputs), "source_freshness", "warn").observed == "not checked"


# ---- control models ----

def test_quarantine_above_the_ratio_blocks() -> None:
    assert HELPDESK.gate.max_quarantine_ratio == 0.01
    ok = evaluate(with_domain(passing(HELPDESK), "customer", quarantined=100))
    assert ok.verdict == "publishable"
    check = only(evaluate(with_domain(passing(HELPDESK), "customer", quarantined=101)),
                 "quarantine_ratio", "block")
    assert (check.observed, check.threshold) == (0.0101, 0.01)


def test_drift_warns() -> None:
    check = only(evaluate(with_domain(passing(HELPDESK), "customer", drifted_keys=7)), "drift",
                 "warn")
    assert check.observed == 7


def test_open_conflicts_on_exported_fields_warn() -> None:
    assert HELPDESK.gate.max_open_conflicts is None
    result = evaluate(passing(HELPDESK, open_conflicts={"customer.phone": 3, "customer.email": 1}))
    check = only(result, "open_conflicts", "warn")
    assert (check.observed, check.threshold) == ({"customer.email": 1, "customer.phone": 3}, None)


def test_open_conflicts_above_the_exports_maximum_block() -> None:
    spec = replace(HELPDESK, gate=replace(HELPDESK.gate, max_open_conflicts=3))
    only(evaluate(passing(spec, open_conflicts={"customer.phone": 3})), "open_conflicts", "warn")
    check = only(evaluate(passing(spec, open_conflicts={"customer.phone": 3, "customer.email": 1})),
                 "open_conflicts", "block")
    assert check.threshold == 3


# ---- row count against the previous publication ----

def test_a_mirror_that_would_delete_too_much_blocks() -> None:
    check = only(evaluate(passing(PROCUREMENT, rows_current=690, rows_previous=1000)),
                 "row_count_change", "block")
    assert check.observed == {"current": 690, "previous": 1000, "delta_pct": -31.0}
    assert check.threshold == 0.3
    assert "would delete 310 target records" in check.message


def test_a_mass_delete_the_export_allows_only_warns() -> None:
    spec = replace(PROCUREMENT, gate=replace(PROCUREMENT.gate, allow_mass_delete=True))
    result = evaluate(passing(spec, rows_current=690, rows_previous=1000))
    assert result.verdict == "warn"
    only(result, "row_count_change", "warn")


def test_a_shrinking_mirror_within_the_ratio_passes() -> None:
    assert evaluate(passing(PROCUREMENT, rows_current=710, rows_previous=1000)).verdict == (
        "publishable")


def test_an_upsert_that_changes_a_lot_warns() -> None:
    only(evaluate(passing(HELPDESK, rows_current=1500, rows_previous=1000)), "row_count_change",
         "warn")


def test_an_empty_export_is_never_published() -> None:
    only(evaluate(passing(HELPDESK, rows_current=0, rows_previous=None)), "row_count_change",
         "block")


def test_the_first_publication_has_no_baseline() -> None:
    assert evaluate(passing(PROCUREMENT, rows_previous=None)).verdict == "publishable"


def test_a_block_outweighs_warnings() -> None:
    inputs = with_domain(passing(STOREFRONT), "inventory", status="delayed")
    inputs = with_domain(inputs, "product", status="failed")
    result = evaluate(inputs)
    assert result.verdict == "blocked"
    assert {(c.domain, c.status) for c in result.reasons} == {("inventory", "warn"),
                                                              ("product", "block")}
