"""`syncgov export` against a warehouse built by the real dbt: what the gate reads from the
artifacts and control tables, the registry's safety rules enforced at export time, the
manifests, the audit log and the exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from governance.errors import InputError
from governance.exports import delivery_log
from governance.exports.manifest import INDEX_SCHEMA_FILE, validation_errors
from governance.exports.publish import ExportOptions, ExportRun, run_exports
from tests.e2e.conftest import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("exports_gate")]

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "exports"


@dataclass
class Built:
    warehouse: Warehouse


@pytest.fixture(scope="module")
def built(project_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    wh = Warehouse(project_dir, tmp_path_factory.mktemp("exports_gate"))
    wh.simulate(seed=11, now=datetime.now(UTC), events=3000, entities=150, batches=4)
    wh.dbt("build")
    wh.dbt("source", "freshness", check=False)
    return Built(wh)


def _copy(built: Built, tmp_path: Path) -> Warehouse:
    """A private copy of the built warehouse and its artifacts (the audit log grows per run)."""
    wh = Warehouse(built.warehouse.project, tmp_path / "wh")
    wh.root.mkdir()
    shutil.copy(built.warehouse.path, wh.path)
    shutil.copytree(built.warehouse.target, wh.target)
    return wh


def _registry(tmp_path: Path, overlay: Path | None = None) -> Path:
    registry = tmp_path / "registry"
    shutil.copytree(REPO / "registry", registry)
    if overlay is not None:
        for path in overlay.glob("*.yml"):
            shutil.copy(path, registry / path.name)
    return registry


def _export(wh: Warehouse, registry: Path, **kw) -> ExportRun:
    return run_exports(ExportOptions(project_dir=REPO, registry_dir=registry,
                                     target_dir=wh.target, warehouse=wh.path,
                                     out_dir=wh.root / "exports", **kw))


def _reasons(run: ExportRun, export_id: str) -> dict[str, list]:
    outcome = next(o for o in run.outcomes if o.export_id == export_id)
    found: dict[str, list] = {}
    for r in outcome.reasons:
        found.setdefault(r.check, []).append(r)
    return found


def test_the_demo_exports_read_the_real_evidence(built: Built, tmp_path: Path) -> None:
    wh = _copy(built, tmp_path)
    run = _export(wh, REPO / "registry", render=("drt", "census"))
    verdicts = {o.export_id: o.verdict for o in run.outcomes}
    assert set(verdicts) == {"helpdesk_customers", "storefront_product_availability",
                             "procurement_supplier_risk"}
    assert "blocked" not in verdicts.values(), [o.reasons for o in run.outcomes]
    helpdesk = next(o for o in run.outcomes if o.export_id == "helpdesk_customers")
    manifest = json.loads(helpdesk.manifest_path.read_text())
    # every test on the export model and on the state models upstream, found through the graph
    tests = next(c for c in manifest["gate"]["checks"] if c["check"] == "dbt_tests")["observed"]
    assert tests["failed"] == tests["not_run"] == tests["skipped"] == []
    assert tests["tests"] >= 20
    assert manifest["lineage"]["domains"] == ["customer"]
    assert manifest["lineage"]["sources"] == [
        "source.syncgov.crm.accounts", "source.syncgov.erp.customers",
        "source.syncgov.helpdesk.contacts"]
    assert "model.syncgov.customer_state" in manifest["lineage"]["models"]
    assert "crm_accounts_to_warehouse" in manifest["lineage"]["flows"]
    assert {s["source"] for s in manifest["freshness"]["domains"][0]["sources"]} == {
        "crm.accounts", "erp.customers", "helpdesk.contacts"}
    rows = wh.query("select count(*), max(_changed_at) from exports.exp_helpdesk__customers")[0]
    assert manifest["row_counts"]["current"] == rows[0] == helpdesk.rows_current
    assert manifest["batch"]["watermark_to"] == rows[1].isoformat() + "Z"
    # the helpdesk writes phones CRM owns: open conflicts on an exported field warn
    conflicts = wh.query("select count(*) from control.sync_conflicts"
                         " where status = 'open' and field in ('phone', 'email')")[0][0]
    checks = {c["check"]: c for c in manifest["gate"]["checks"]}
    assert sum(checks["open_conflicts"]["observed"].values()) == conflicts
    assert checks["open_conflicts"]["status"] == ("warn" if conflicts else "pass")
    index = json.loads(run.index_path.read_text())
    assert validation_errors(index, INDEX_SCHEMA_FILE) == []
    assert {e["export_id"]: e["rendered"]["drt"] for e in index["exports"]} == {
        e: f"drt/syncs/{e}.yml" for e in verdicts}


def test_registry_safety_rules_block_at_export_time(built: Built, tmp_path: Path) -> None:
    wh = _copy(built, tmp_path)
    lint = subprocess.run([str(Path(sys.executable).with_name("syncgov")), "lint", "--registry",
                           str(_registry(tmp_path / "lint", FIXTURES / "unsafe"))],
                          capture_output=True, text=True, check=False)
    assert lint.returncode == 1
    assert "SG404" in lint.stdout
    assert "SG701" in lint.stdout
    run = _export(wh, _registry(tmp_path, FIXTURES / "unsafe"), render=("drt", "census"))
    assert {o.export_id: o.verdict for o in run.outcomes} == {
        "account_names_to_crm": "blocked", "customer_emails_to_storefront": "blocked"}
    loop = _reasons(run, "account_names_to_crm")
    assert [(r.status, r.observed, r.threshold) for r in loop["write_back"]] == [
        ("block", ["customer.account_name"], "no field owned by crm")]
    leak = _reasons(run, "customer_emails_to_storefront")
    assert [(r.status, r.observed, r.threshold) for r in leak["clearance"]] == [
        ("block", ["customer.email (pii)"], "internal")]
    # both waived the lint requirement: the safety checks block on their own
    assert "registry_lint" not in loop
    assert not (wh.root / "exports" / "drt" / "syncs").exists() or not any(
        (wh.root / "exports" / "drt" / "syncs").iterdir())
    logged = wh.query("select export_id, verdict, reasons from audit.sync_export_log"
                      " order by export_id")
    assert [(e, v) for e, v, _ in logged] == [("account_names_to_crm", "blocked"),
                                             ("customer_emails_to_storefront", "blocked")]
    reasons = json.loads(logged[1][2])
    clearance = next(r for r in reasons if r["check"] == "clearance")
    assert clearance["observed"] == ["customer.email (pii)"]
    assert clearance["threshold"] == "internal"
    assert "cleared only for internal" in clearance["message"]


def test_a_lint_error_on_an_exported_domain_blocks(built: Built, tmp_path: Path) -> None:
    wh = _copy(built, tmp_path)
    registry = _registry(tmp_path)
    domains = registry / "domains.yml"
    domains.write_text(domains.read_text().replace("last_reviewed: 2026-10-01",
                                                   "last_reviewed: 2024-01-01", 1))
    run = _export(wh, registry, select=("helpdesk_customers",))
    (lint,) = _reasons(run, "helpdesk_customers")["registry_lint"]
    assert lint.status == "block"
    assert lint.observed[0].startswith("SG201 ")
    assert "/registry/domains.yml:13 domain 'customer' was due for review" in lint.observed[0]


def test_without_source_freshness_results_exports_are_blocked(built: Built,
                                                              tmp_path: Path) -> None:
    wh = _copy(built, tmp_path)
    (wh.target / "sources.json").unlink()
    run = _export(wh, REPO / "registry")
    assert {o.verdict for o in run.outcomes} == {"blocked"}
    assert all("source_freshness" in _reasons(run, o.export_id) for o in run.outcomes)


def test_a_second_evaluation_continues_from_the_confirmed_delivery(built: Built,
                                                                   tmp_path: Path) -> None:
    wh = _copy(built, tmp_path)
    first = _export(wh, REPO / "registry")
    # published but never delivered: the window still starts at the beginning (issue 14)
    again = _export(wh, REPO / "registry")
    for a, b in zip(first.outcomes, again.outcomes, strict=True):
        assert (b.batch.watermark_from, b.batch.watermark_to) == (None, a.batch.watermark_to)
        assert b.batch.rows_in_batch == a.batch.rows_in_batch == a.rows_current
        assert b.batch.idempotency_key == a.batch.idempotency_key
    # a delivery the targets confirmed moves the next window past it
    con = duckdb.connect(str(wh.path))
    try:
        delivery_log.ensure_tables(con)
        for a in first.outcomes:
            delivery_log.record_attempt(con, delivery_log.DeliveryLogRow(
                f"d-{a.export_id}", a.export_id, first.evaluated_at, a.batch.batch_id,
                "delivered", None, None, a.batch.watermark_to, a.batch.watermark_to,
                a.rows_current, a.rows_current, 0, 0, 0, None, "t", "o", 0.1, "drt-core"),
                {}, [], 4, "data-platform")
    finally:
        con.close()
    second = _export(wh, REPO / "registry")
    for a, b in zip(first.outcomes, second.outcomes, strict=True):
        assert b.batch.watermark_from == a.batch.watermark_to
        assert b.batch.rows_in_batch == 0
        assert b.batch.empty is True
        assert b.rows_previous == a.rows_current
    assert wh.query("select count(*) from audit.sync_export_log")[0][0] == 9


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).with_name("syncgov")), "export", *args],
                          capture_output=True, text=True, cwd=cwd, check=False, timeout=600)


def test_cli_exit_codes(built: Built, tmp_path: Path) -> None:
    wh = _copy(built, tmp_path)
    common = ("--project-dir", str(REPO), "--target-dir", str(wh.target), "--warehouse",
              str(wh.path), "--out", str(tmp_path / "out"))
    ok = _cli(*common, "--registry", str(REPO / "registry"), "--format", "json", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["summary"]["blocked"] == 0
    assert "evaluating 3 export gate(s)" in ok.stderr
    blocked = _cli(*common, "--registry", str(_registry(tmp_path, FIXTURES / "unsafe")),
                   cwd=tmp_path)
    assert blocked.returncode == 1
    assert "BLOCKED account_names_to_crm" in blocked.stdout
    assert "block write_back:" in blocked.stdout
    missing = _cli("--project-dir", str(REPO), "--target-dir", str(wh.target), "--warehouse",
                   str(tmp_path / "nope.duckdb"), "--registry", str(REPO / "registry"),
                   cwd=tmp_path)
    assert missing.returncode == 2
    assert "warehouse not found" in missing.stderr
    unknown = _cli(*common, "--registry", str(REPO / "registry"), "--select", "nope",
                   cwd=tmp_path)
    assert unknown.returncode == 2
    assert "unknown export(s) nope" in unknown.stderr


def test_missing_artifacts_are_an_input_error(built: Built, tmp_path: Path) -> None:
    wh = _copy(built, tmp_path)
    (wh.target / "run_results.json").unlink()
    with pytest.raises(InputError, match=r"run_results\.json not found"):
        _export(wh, REPO / "registry")
