"""dbt-consistency rules against a small hand-made manifest of the valid fixture's project.

The real project's manifest is exercised in tests/e2e/test_lint_dbt.py; here each rule is
broken one fault at a time in a manifest small enough to read.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from governance.errors import InputError
from governance.lint import lint, load_manifest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "registry"
TODAY = date(2026, 11, 24)
SOURCES_YML = """version: 2
sources:
  - name: crm
    schema: landing
    tables:
      - name: accounts
        meta: {domain: customer}
  - name: erp
    schema: landing
    tables:
      - name: customers
        meta: {domain: customer}
"""


def _test(model: str, column: str, name: str) -> tuple[str, dict]:
    uid = f"test.syncgov.{name}_{model}_{column}"
    return uid, {"unique_id": uid, "resource_type": "test", "attached_node": f"model.syncgov.{model}",
                 "column_name": column, "test_metadata": {"name": name}}


def _manifest(project: Path) -> dict:
    nodes = {
        "model.syncgov.customer_state": {
            "unique_id": "model.syncgov.customer_state", "name": "customer_state",
            "resource_type": "model", "fqn": ["syncgov", "state", "customer_state"],
            "config": {"unique_key": "customer_id"},
            "original_file_path": "models/state/customer_state.sql"},
        "model.syncgov.exp_crm__customer_credit": {
            "unique_id": "model.syncgov.exp_crm__customer_credit", "name": "exp_crm__customer_credit",
            "resource_type": "model", "fqn": ["syncgov", "exports", "exp_crm__customer_credit"],
            "config": {}, "original_file_path": "models/exports/exp_crm__customer_credit.sql"},
    }
    for model, column in (("customer_state", "customer_id"), ("exp_crm__customer_credit", "customer_id")):
        for name in ("unique", "not_null"):
            uid, node = _test(model, column, name)
            nodes[uid] = node
    # the entity state's history, and each landing source's batch-latency test at its SLO
    nodes["model.syncgov.customer_history"] = {
        "unique_id": "model.syncgov.customer_history", "name": "customer_history",
        "resource_type": "model", "fqn": ["syncgov", "history", "customer_history"],
        "config": {"materialized": "incremental", "full_refresh": False},
        "depends_on": {"nodes": ["model.syncgov.customer_state"],
                       "macros": ["macro.syncgov.entity_history"]},
        "original_file_path": "models/history/customer_history.sql"}
    for source in ("source.syncgov.crm.accounts", "source.syncgov.erp.customers"):
        uid = f"test.syncgov.sync_batch_latency_within_slo_{source.rsplit('.', 1)[-1]}"
        nodes[uid] = {"unique_id": uid, "resource_type": "test", "depends_on": {"nodes": [source]},
                      "test_metadata": {"name": "sync_batch_latency_within_slo",
                                        "kwargs": {"slo_minutes": 60}}}
    return {
        "metadata": {"project_name": "syncgov"},
        "_project_dir": str(project),
        "nodes": nodes,
        "sources": {
            "source.syncgov.crm.accounts": {
                "unique_id": "source.syncgov.crm.accounts", "source_name": "crm", "name": "accounts",
                "meta": {"domain": "customer"},
                "loaded_at_query": "select max(finished_at) from landing.sync_batches",
                "freshness": {"warn_after": {"count": 30, "period": "minute"},
                              "error_after": {"count": 60, "period": "minute"}},
                "original_file_path": "models/staging/crm/_crm__sources.yml"},
            "source.syncgov.erp.customers": {
                "unique_id": "source.syncgov.erp.customers", "source_name": "erp", "name": "customers",
                "meta": {"domain": "customer"},
                "loaded_at_query": "select max(finished_at) from landing.sync_batches",
                "freshness": {"warn_after": {"count": 30, "period": "minute"},
                              "error_after": {"count": 60, "period": "minute"}},
                "original_file_path": "models/staging/crm/_crm__sources.yml"},
            "source.syncgov.landing.sync_batches": {
                "unique_id": "source.syncgov.landing.sync_batches", "source_name": "landing",
                "name": "sync_batches", "meta": {}, "freshness": None,
                "original_file_path": "models/staging/_landing__sources.yml"},
        },
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "valid", tmp_path / "registry")
    sources = tmp_path / "models" / "staging" / "crm" / "_crm__sources.yml"
    sources.parent.mkdir(parents=True)
    sources.write_text(SOURCES_YML)
    return tmp_path


def _run(project: Path, manifest: dict) -> list[tuple[str, str, int, str]]:
    return [(f.rule_id, f.path.name, f.line, f.message)
            for f in lint(project / "registry", today=TODAY, manifest=manifest)]


def _line(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_a_consistent_project_has_no_findings(project: Path) -> None:
    assert _run(project, _manifest(project)) == []


def test_a_missing_flow_node_is_reported_at_its_list_item(project: Path) -> None:
    manifest = _manifest(project)
    del manifest["sources"]["source.syncgov.crm.accounts"]
    flows = project / "registry" / "flows.yml"
    ((rule, file, line, message),) = _run(project, manifest)
    assert (rule, file, line) == ("SG601", "flows.yml", _line(flows, "source.syncgov.crm.accounts"))
    assert "'source.syncgov.crm.accounts', which is not in the dbt manifest" in message


def test_a_state_model_without_history(project: Path) -> None:
    manifest = _manifest(project)
    history = manifest["nodes"]["model.syncgov.customer_history"]
    # a model over the state that is not built by entity_history is no history
    history["depends_on"]["macros"] = []
    assert [(r, f, m) for r, f, _, m in _run(project, manifest)] == [
        ("SG609", "customer_state.sql", "state model customer_state has no history (a model"
         " built by entity_history, or a snapshot)")]
    # a dbt snapshot of the state still is one
    history.update(resource_type="snapshot", config={})
    assert _run(project, manifest) == []


@pytest.mark.parametrize("config", [{}, {"full_refresh": None}, {"full_refresh": True}])
def test_a_history_that_full_refresh_would_rebuild(project: Path, config: dict) -> None:
    manifest = _manifest(project)
    manifest["nodes"]["model.syncgov.customer_history"]["config"] = config
    ((rule, file, _, message),) = _run(project, manifest)
    assert (rule, file) == ("SG609", "customer_history.sql")
    assert "customer_history of customer_state would be rebuilt from current state" in message


@pytest.mark.parametrize(("error_after", "minutes"), [
    ({"count": 2, "period": "hour"}, 120),
    ({"count": 1, "period": "day"}, 1440),
    ({"count": 61, "period": "minute"}, 61),
])
def test_freshness_looser_than_the_slo(project: Path, error_after: dict, minutes: int) -> None:
    manifest = _manifest(project)
    manifest["sources"]["source.syncgov.crm.accounts"]["freshness"]["error_after"] = error_after
    ((rule, file, line, message),) = _run(project, manifest)
    sources = project / "models/staging/crm/_crm__sources.yml"
    assert (rule, file, line) == ("SG602", "_crm__sources.yml", _line(sources, "- name: accounts"))
    assert f"errors after {minutes} min, looser than the 60-min SLO of domain customer" in message


def test_freshness_at_the_slo_in_hours_is_fine(project: Path) -> None:
    manifest = _manifest(project)
    manifest["sources"]["source.syncgov.crm.accounts"]["freshness"]["error_after"] = {
        "count": 1, "period": "hour"}
    assert _run(project, manifest) == []


def test_no_freshness_at_all(project: Path) -> None:
    manifest = _manifest(project)
    manifest["sources"]["source.syncgov.crm.accounts"]["freshness"] = None
    assert [r[0] for r in _run(project, manifest)] == ["SG602"]


def test_an_unclaimed_landing_source_and_a_source_without_loaded_at(project: Path) -> None:
    manifest = _manifest(project)
    orders = copy.deepcopy(manifest["sources"]["source.syncgov.crm.accounts"])
    orders.update(unique_id="source.syncgov.crm.orders", name="orders", loaded_at_query=None)
    manifest["sources"]["source.syncgov.crm.orders"] = orders
    found = [(r[0], r[3]) for r in _run(project, manifest)]
    assert found == [("SG603", "source source.syncgov.crm.orders is not claimed by any flow"),
                     ("SG604", "source crm.orders has no loaded_at_query or loaded_at_field"),
                     ("SG607", "source crm.orders has no sync_batch_latency_within_slo test; the"
                               " SLO of domain customer is 60 min")]


def test_the_ledger_is_not_a_landing_source(project: Path) -> None:
    """sync_batches carries no `meta.domain`: no flow needs to claim it."""
    assert "source.syncgov.landing.sync_batches" in _manifest(project)["sources"]
    assert _run(project, _manifest(project)) == []


@pytest.mark.parametrize(("model", "test", "expected"), [
    ("customer_state", "unique", "model customer_state key 'customer_id' lacks data tests: unique"),
    ("exp_crm__customer_credit", "not_null",
     "model exp_crm__customer_credit key 'customer_id' lacks data tests: not_null"),
])
def test_keys_need_unique_and_not_null(project: Path, model: str, test: str, expected: str) -> None:
    manifest = _manifest(project)
    del manifest["nodes"][f"test.syncgov.{test}_{model}_customer_id"]
    assert [(r[0], r[1], r[3]) for r in _run(project, manifest)] == [
        ("SG605", f"{model}.sql", expected)]


def test_a_missing_export_model_is_one_clear_warning(project: Path) -> None:
    manifest = _manifest(project)
    del manifest["nodes"]["model.syncgov.exp_crm__customer_credit"]
    flows = project / "registry" / "flows.yml"
    flows.write_text(flows.read_text() + """  warehouse_to_crm:
    domain: customer
    from: erp
    to: crm
    direction: one_way
    transport: api
    dbt_nodes: [model.syncgov.exp_crm__customer_credit]
""")
    findings = lint(project / "registry", today=TODAY, manifest=manifest)
    exports = project / "registry" / "exports.yml"
    assert [(f.rule_id, f.severity.value, f.path.name, f.line) for f in findings] == [
        ("SG606", "warning", "exports.yml", _line(exports, "model:"))]
    assert "add models/exports/exp_crm__customer_credit.sql" in findings[0].message


def test_dbt_rules_need_a_manifest(project: Path) -> None:
    manifest = _manifest(project)
    manifest["nodes"].clear()
    manifest["sources"].clear()
    assert {r[0] for r in _run(project, manifest)} == {"SG601", "SG606"}
    assert lint(project / "registry", today=TODAY) == []


@pytest.mark.parametrize(("text", "problem"), [
    ("[]", "the top level is not an object"),
    ('{"nodes": []}', "`nodes` is not an object"),
    ('{"sources": {"s": {"unique_id": "s"}}}', "sources.s.source_name is missing or not a str"),
    ('{"nodes": {"m": {"unique_id": "m", "resource_type": "model", "name": "m", "fqn": "x",'
     ' "config": {}, "original_file_path": "m.sql"}}}', "nodes.m.fqn is missing or not a list"),
    ("{not json", "cannot read the dbt manifest"),
])
def test_an_unreadable_manifest_is_an_input_error(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "manifest.json").write_text(text)
    with pytest.raises(InputError, match=re.escape(problem)):
        load_manifest(tmp_path)


def test_a_real_shaped_manifest_passes_the_shape_check(project: Path) -> None:
    (project / "target").mkdir()
    manifest = _manifest(project)
    del manifest["_project_dir"]
    manifest["sources"]["source.syncgov.landing.sync_batches"]["meta"] = None
    (project / "target" / "manifest.json").write_text(json.dumps(manifest))
    loaded = load_manifest(project)
    assert loaded is not None
    assert _run(project, loaded) == []
