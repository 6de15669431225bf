"""The operator surface on a real warehouse: status, metrics, impact, contracts and the report
read what a real simulate + `dbt build` produced, and say the same as the control tables.

One warehouse per module (two builds, so the health history has two observations), then
`dbt source freshness` and `syncgov export`, so the export verdicts shown are the gates' own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import duckdb
import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from governance.cli import main
from governance.control_tables import read_snapshot
from governance.impact import impact
from governance.registry import load_registry
from governance.report import build_report
from governance.simulate.faults import DEMO_FAULTS
from tests.e2e.conftest import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("operator")]
REPO = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def built(project_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    wh = Warehouse(project_dir, tmp_path_factory.mktemp("operator"))
    # As in test_controls: seed 13 stalls wms (inventory, tier_1) past its 5-minute SLO.
    wh.simulate(seed=13, now=datetime.now(UTC), entities=600, events=20_000, batches=24,
                faults=DEMO_FAULTS)
    wh.dbt("build")
    wh.simulate(batches=1, faults=DEMO_FAULTS, append=True)
    wh.dbt("build")
    wh.dbt("source", "freshness", check=False)  # a stale source is what the gates must see
    gated = invoke("export", "--target-dir", str(wh.target), "--out", str(wh.root / "exports"),
                   "--warehouse", str(wh.path), "--project-dir", str(project_dir),
                   "--registry", str(project_dir / "registry"))
    assert gated.exit_code in (0, 1), gated.output
    # a project directory whose target/ is this warehouse's (impact and report read it there)
    (wh.root / "project").mkdir()
    (wh.root / "project" / "target").symlink_to(wh.target)
    return wh


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def latest_verdicts(wh: Warehouse) -> dict[str, str]:
    """The oracle for verdicts: the newest row per export in the gates' own audit table."""
    return dict(wh.query(
        "select export_id, verdict from audit.sync_export_log"
        " qualify row_number() over (partition by export_id order by evaluated_at desc) = 1"))


def domain_health(wh: Warehouse) -> dict[str, tuple]:
    return {row[0]: row[1:] for row in wh.query(
        "select domain, status, criticality, staleness_minutes, open_conflicts, quarantined"
        " from control.sync_health where level = 'domain'")}


# -- status ---------------------------------------------------------------------------------


def test_status_json_says_what_sync_health_says(built: Warehouse) -> None:
    result = invoke("status", "--warehouse", str(built.path), "--format", "json")
    document = json.loads(result.output)
    expected = domain_health(built)
    got = {d["domain"]: (d["status"], d["criticality"], d["staleness_minutes"],
                         d["open_conflicts"], d["quarantined"]) for d in document["domains"]}
    assert got == expected
    flows = {f["flow"]: f["status"] for d in document["domains"] for f in d["flows"]}
    assert flows == dict(built.query(
        "select flow, status from control.sync_health where level = 'flow'"))
    # every declared export shows with the verdict its gate recorded last
    verdicts = latest_verdicts(built)
    assert sorted(verdicts) == ["helpdesk_customers", "procurement_supplier_risk",
                                "storefront_product_availability"]
    assert set(verdicts.values()) <= {"publishable", "warn", "blocked"}
    assert {e["export_id"]: e["verdict"] for e in document["exports"]} == verdicts


def test_exports_without_an_export_log_are_not_evaluated(built: Warehouse, tmp_path: Path) -> None:
    copy = tmp_path / "syncgov.duckdb"
    shutil.copy(built.path, copy)
    con = duckdb.connect(str(copy))
    con.execute("drop table audit.sync_export_log")
    con.close()
    result = invoke("status", "--warehouse", str(copy), "--format", "json")
    assert {e["export_id"]: e["verdict"] for e in json.loads(result.output)["exports"]} == {
        "helpdesk_customers": "not_evaluated", "storefront_product_availability": "not_evaluated",
        "procurement_supplier_risk": "not_evaluated"}


def test_status_pages_when_a_critical_domain_is_delayed(built: Warehouse, tmp_path: Path) -> None:
    statuses = {d: row[0] for d, row in domain_health(built).items()}
    assert statuses["inventory"] in ("delayed", "failed"), "the stalled tier_1 domain"
    paging = sorted(d for d, (status, tier, *_) in domain_health(built).items()
                    if tier == "tier_1" and status in ("delayed", "failed"))
    result = invoke("status", "--warehouse", str(built.path), "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.output)["paging"] == paging
    table = invoke("status", "--warehouse", str(built.path))
    assert table.exit_code == 1
    assert "PAGE: inventory" in table.output
    # no paging tier, no page: the decision follows the policy
    registry = tmp_path / "registry"
    shutil.copytree(REPO / "registry", registry)
    policy = (registry / "policy.yml").read_text().replace("paging_tiers: [tier_1]",
                                                           "paging_tiers: []")
    (registry / "policy.yml").write_text(policy)
    quiet = invoke("status", "--warehouse", str(built.path), "--registry", str(registry))
    assert quiet.exit_code == 0, quiet.output
    assert "Nothing to page" in quiet.output


def test_status_without_a_warehouse_says_what_to_run(tmp_path: Path) -> None:
    result = invoke("status", "--warehouse", str(tmp_path / "missing.duckdb"))
    assert result.exit_code == 2
    assert "run `make demo`" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


# -- metrics --------------------------------------------------------------------------------


def test_metrics_parse_and_match_the_control_tables(built: Warehouse, tmp_path: Path) -> None:
    out = tmp_path / "syncgov.prom"
    result = invoke("metrics", "--warehouse", str(built.path), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["syncgov.prom"]  # no temp file left
    families = {f.name: f for f in text_string_to_metric_families(out.read_text())}
    samples = {name: [(s.labels, s.value) for s in f.samples] for name, f in families.items()}

    flows = built.query("select domain, flow, source_system, status, staleness_minutes,"
                        " slo_minutes, duplicates, quarantined, open_conflicts,"
                        " unreconciled_batches, latency_p95_minutes from control.sync_health"
                        " where level = 'flow'")
    assert len(flows) == 11
    for domain, flow, system, status, stale, slo, dups, quarantined, conflicts, unrec, p95 in flows:
        labels = {"domain": domain, "flow": flow, "system": system}

        def value(name: str, extra: dict | None = None, labels=labels) -> float:
            want = labels | (extra or {})
            return next(v for lab, v in samples[name] if lab == want)

        assert value("syncgov_flow_staleness_seconds") == stale * 60
        assert value("syncgov_flow_slo_seconds") == slo * 60
        assert value("syncgov_flow_duplicate_rows") == dups
        assert value("syncgov_flow_quarantined_rows") == quarantined
        assert value("syncgov_flow_open_conflicts") == conflicts
        assert value("syncgov_flow_unreconciled_batches") == unrec
        assert value("syncgov_flow_propagation_latency_seconds",
                     {"quantile": "0.95"}) == pytest.approx(p95 * 60)
        assert value("syncgov_flow_status", {"status": status}) == 1.0
        assert sum(v for lab, v in samples["syncgov_flow_status"]
                   if {k: lab[k] for k in labels} == labels) == 1.0

    for domain, (status, _tier, *_rest) in domain_health(built).items():
        one_hot = {lab["status"]: v for lab, v in samples["syncgov_domain_status"]
                   if lab["domain"] == domain}
        assert one_hot == {s: float(s == status)
                           for s in ("current", "partial", "delayed", "failed", "unknown")}
    attained = {(lab["domain"], lab["period"]): v
                    for lab, v in samples["syncgov_slo_attainment_ratio"]}
    assert attained == {(d, f"{p}d"): pytest.approx(a) for d, p, a in built.query(
        "select domain, period_days, attainment from control.sync_slo_attainment")}
    verdicts = [(lab["export"], lab["verdict"]) for lab, v in samples["syncgov_export_verdict"]
                if v == 1.0]
    assert sorted(verdicts) == sorted(latest_verdicts(built).items())


# -- export verdicts: a later evaluation is what every surface shows -------------------------


@pytest.fixture
def with_export_log(built: Warehouse, tmp_path: Path) -> Path:
    """A copy of the warehouse in which the helpdesk export was evaluated once more, an hour
    after the gates ran, with a verdict and reason of its own."""
    copy = tmp_path / "syncgov.duckdb"
    shutil.copy(built.path, copy)
    con = duckdb.connect(str(copy))
    con.execute("""
        insert into audit.sync_export_log (export_id, evaluated_at, verdict, reasons, batch_id,
            watermark_from, watermark_to, rows_current, rows_previous, manifest_path)
        select 'helpdesk_customers', max(evaluated_at) + interval 1 hour, 'blocked',
           '[{"check": "upstream_fresh", "observed": 82, "threshold": 60,
              "message": "customer is delayed: crm__accounts 82 min old, SLO 60 min"}]',
           'b2', null, null, 100, 100, 'm2.json'
        from audit.sync_export_log
    """)
    con.close()
    return copy


def test_latest_export_verdict_is_shown_with_its_reasons(built: Warehouse,
                                                         with_export_log: Path) -> None:
    result = invoke("status", "--warehouse", str(with_export_log), "--format", "json")
    exports = {e["export_id"]: e for e in json.loads(result.output)["exports"]}
    assert exports["helpdesk_customers"]["verdict"] == "blocked"  # the latest evaluation
    assert exports["helpdesk_customers"]["reasons"][0]["check"] == "upstream_fresh"
    gated = latest_verdicts(built)
    for export in ("storefront_product_availability", "procurement_supplier_risk"):
        assert exports[export]["verdict"] == gated[export]
    metrics = invoke("metrics", "--warehouse", str(with_export_log)).output
    assert ('syncgov_export_verdict{domain="customer",export="helpdesk_customers",'
            'system="helpdesk",verdict="blocked"} 1.0') in metrics
    html = build_report(read_snapshot(with_export_log), load_registry(REPO / "registry"), None,
                        today=TODAY)
    assert 'data-export="helpdesk_customers" data-verdict="blocked"' in html
    assert "customer is delayed: crm__accounts 82 min old, SLO 60 min" in html
    assert "(observed 82, threshold 60)" in html


# -- impact ---------------------------------------------------------------------------------


def _oracle_downstream(manifest: dict, source: str) -> set[str]:
    """Nodes whose ancestors (parent_map, the other direction of the graph) include `source`."""
    parents = manifest["parent_map"]
    memo: dict[str, bool] = {}

    def reaches(uid: str, trail: frozenset = frozenset()) -> bool:
        if uid not in memo:
            memo[uid] = any(p == source or (p not in trail and reaches(p, trail | {uid}))
                            for p in parents.get(uid, ()))
        return memo[uid]

    return {uid for uid in parents if reaches(uid)}


def test_impact_lists_everything_downstream_of_a_source(built: Warehouse) -> None:
    manifest = json.loads((built.target / "manifest.json").read_text())
    result = impact("wms__inventory_movements", load_registry(REPO / "registry"), manifest)
    oracle = _oracle_downstream(manifest, "source.syncgov.wms.inventory_movements")
    listed = {n.unique_id for n in (*result.models, *result.history, *result.exposures)}
    assert listed == {u for u in oracle if u.split(".")[0] in ("model", "snapshot", "exposure")}
    names = {n.name for n in result.models}
    assert {"stg_wms__inventory_movements", "inventory_state", "sync_health"} <= names
    assert "customer_state" not in names
    assert [s.name for s in result.history] == ["inventory_history"]
    assert "inventory_history" not in names
    assert [e.export_id for e in result.exports] == ["storefront_product_availability"]
    assert result.domains == ("inventory",)


def test_impact_cli_by_domain_and_unknown_target(built: Warehouse, tmp_path: Path) -> None:
    project = built.root / "project"
    result = invoke("impact", "customer", "--project-dir", str(project), "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert sorted(document["sources"]) == ["source.syncgov.crm.accounts",
                                           "source.syncgov.erp.customers",
                                           "source.syncgov.helpdesk.contacts"]
    assert [e["export_id"] for e in document["exports"]] == ["helpdesk_customers"]
    assert document["outbound_flows"] == ["warehouse_customers_to_helpdesk"]
    unknown = invoke("impact", "nowhere", "--project-dir", str(project))
    assert unknown.exit_code == 2
    assert "neither a domain" in unknown.output
    no_manifest = invoke("impact", "customer", "--project-dir", str(tmp_path))
    assert no_manifest.exit_code == 2
    assert "dbt parse" in no_manifest.output


# -- contracts ------------------------------------------------------------------------------


def _odcs_schema() -> dict:
    return json.loads(resources.files("open_data_contract_standard")
                      .joinpath("schema.json").read_text())


def test_contracts_are_valid_odcs_and_carry_the_registry(built: Warehouse, tmp_path: Path) -> None:
    out = tmp_path / "contracts"
    result = invoke("contracts", "--format", "odcs", "--out", str(out), "--warehouse",
                    str(built.path), "--project-dir", str(built.root / "project"))
    assert result.exit_code == 0, result.output
    registry = yaml.safe_load((REPO / "registry" / "domains.yml").read_text())["domains"]
    files = sorted(out.glob("*.odcs.yaml"))
    assert [f.name.split(".")[0] for f in files] == sorted(registry)
    validator = jsonschema.Draft201909Validator(_odcs_schema())
    for path in files:
        document = yaml.safe_load(path.read_text())
        errors = [e.message for e in validator.iter_errors(document)]
        assert errors == [], path.name
        spec = registry[document["domain"]]
        props = {p["name"]: p for p in document["schema"][0]["properties"]}
        columns = [c for (c,) in built.query(
            "select column_name from information_schema.columns where table_schema = 'state'"
            f" and table_name = '{document['domain']}_state' order by ordinal_position")]
        assert list(props) == columns
        for field, fspec in spec["fields"].items():
            assert props[field]["classification"] == fspec["classification"]
            assert {"property": "ownerSystem", "value": fspec["owner"]} \
                in props[field]["customProperties"]
        sla = {s["property"]: s for s in document["slaProperties"]}
        assert (sla["latency"]["value"], sla["latency"]["unit"]) == (spec["slo_minutes"], "m")
        assert sla["frequency"]["value"] == spec["cadence"]
        custom = {c["property"]: c["value"] for c in document["customProperties"]}
        assert custom["lastReviewed"] == str(spec["last_reviewed"])
        assert custom["reviewCycleDays"] == spec["review_cycle_days"]
    customer = yaml.safe_load((out / "customer.odcs.yaml").read_text())
    key = next(p for p in customer["schema"][0]["properties"] if p.get("primaryKey"))
    assert key["name"] == "customer_id"
    channels = [s["channel"] for s in customer["support"]]
    assert channels[:2] == ["#data-platform", "#customer-ops"]
    assert "data-platform-oncall@example.com" in channels
    assert {m["username"] for m in customer["team"]["members"]} >= {
        "anna.steward@example.com", "ada.okafor@example.com"}


def test_datacontract_cli_lint_accepts_the_contracts(built: Warehouse, tmp_path: Path) -> None:
    datacontract = Path(sys.executable).with_name("datacontract")
    if not datacontract.exists():
        pytest.skip("datacontract-cli is not installed (dev dependency)")
    out = tmp_path / "contracts"
    invoke("contracts", "--out", str(out), "--warehouse", str(built.path),
           "--project-dir", str(built.root / "project"))
    for path in sorted(out.glob("*.odcs.yaml")):
        proc = subprocess.run([str(datacontract), "lint", str(path)], capture_output=True,
                              text=True, check=False, timeout=120, cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Data contract is valid" in proc.stdout


# -- the HTML report in a real browser ------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
SCREENSHOT = REPO / "docs" / "images" / "syncgov-report.png"


def test_report_is_self_contained(built: Warehouse, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = invoke("report", "--out", str(out), "--warehouse", str(built.path),
                    "--project-dir", str(built.root / "project"), "--today", TODAY.isoformat())
    assert result.exit_code == 0, result.output
    html = out.read_text()
    for reference in ("http://", "https://", "<script", "@import", "url("):
        hits = [line for line in html.splitlines() if reference in line
                and "http://www.w3.org/2000/svg" not in line]
        assert hits == [], f"external reference {reference!r}"


@pytest.mark.skipif(not CHROMIUM.exists(),
                    reason="needs Debian's Chromium: apt-get install -y chromium"
                           " (.ci/run installs it)")
def test_report_renders_in_chromium(built: Warehouse, tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    out = tmp_path / "report.html"
    invoke("report", "--out", str(out), "--warehouse", str(built.path),
           "--project-dir", str(built.root / "project"), "--today", TODAY.isoformat())
    expected = {d: row[0] for d, row in domain_health(built).items()}
    problems: list[str] = []
    requests: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS,
                                    headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(out.as_uri(), wait_until="load")
            cards = page.locator("#status-board article.card")
            shown = {cards.nth(i).get_attribute("data-domain"):
                     cards.nth(i).get_attribute("data-status") for i in range(cards.count())}
            assert shown == expected
            rows = page.locator("#exports-table tr[data-export]")
            assert {rows.nth(i).get_attribute("data-export"): rows.nth(i).get_attribute(
                "data-verdict") for i in range(rows.count())} == latest_verdicts(built)
            assert page.locator("#review-table tr[data-domain]").count() == len(expected)
            unhealthy = sorted(d for d, s in expected.items() if s != "current")
            impact_rows = page.locator("#impact-table tr[data-domain]")
            assert sorted(impact_rows.nth(i).get_attribute("data-domain")
                          for i in range(impact_rows.count())) == unhealthy
            # attainment, burn, quarantine and one latency chart per domain, all rendered
            charts = page.locator("svg.chart")
            assert charts.count() == 3 + len(expected)
            assert all(charts.nth(i).bounding_box()["height"] > 50 for i in range(charts.count()))
            assert page.locator(".escalation li").count() > 0
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
            if os.environ.get("SYNCGOV_UPDATE_SCREENSHOTS") == "1":
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(shot, SCREENSHOT)
        finally:
            browser.close()
    assert problems == []
    assert requests == [out.as_uri()]
