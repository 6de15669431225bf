"""`syncgov generate`: seeds and exposures derived from the registry, and `--check`."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from governance.errors import InputError
from governance.generate import render, stale_files, write

REPO = Path(__file__).resolve().parents[3]
VENV_BIN = REPO / ".venv" / "bin"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "registry", tmp_path / "registry")
    return tmp_path


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_committed_files_are_current() -> None:
    assert stale_files(REPO / "registry", REPO) == []


def test_plain_csv_without_comments(project: Path) -> None:
    files = render(project / "registry", project)
    for rel, text in files.items():
        if rel.endswith(".csv"):
            assert not text.startswith("#"), rel
            header = text.splitlines()[0].split(",")
            assert all(len(row.split(",")) >= len(header) for row in text.splitlines())


def test_domain_sources_list_every_landing_table_of_every_domain(project: Path) -> None:
    rows = _rows(render(project / "registry", project)["seeds/generated/domain_sources.csv"])
    assert {"domain": "inventory", "source_system": "wms", "source_table": "inventory_movements",
            "relation": "landing.wms__inventory_movements"} in rows
    assert sorted(r["domain"] for r in rows if r["source_system"] == "erp") == [
        "customer", "invoice", "product", "supplier"]
    assert not any(r["source_table"] == "sync_batches" for r in rows)


def test_policies_and_ownership_rows(project: Path) -> None:
    files = render(project / "registry", project)
    policies = {r["domain"]: r for r in _rows(files["seeds/generated/domain_policies.csv"])}
    assert policies["inventory"]["cadence"] == "realtime"
    assert (policies["inventory"]["freshness_warn_minutes"],
            policies["inventory"]["freshness_error_minutes"]) == ("3", "5")
    ownership = {(r["domain"], r["field"]): r for r in _rows(files["seeds/generated/field_ownership.csv"])}
    assert ownership[("customer", "credit_limit")]["owner_system"] == "erp"
    assert ownership[("product", "list_price")]["owner_system"] == "erp"
    assert ownership[("product", "category")]["owner_system"] == "pim"


def test_exposures_only_for_exports_whose_model_exists(project: Path) -> None:
    rel = "models/exports/_exports__exposures.yml"
    text = render(project / "registry", project)[rel]
    assert yaml.safe_load(text) == {"version": 2, "exposures": []}
    assert "#   helpdesk_customers (exp_helpdesk__customers)" in text

    write(project / "registry", project)
    model = project / "models" / "exports" / "exp_helpdesk__customers.sql"
    model.write_text("select 1 as customer_id\n")
    assert stale_files(project / "registry", project) == [
        "models/exports/_exports__exposures.yml", "models/exports/_exports__contracts.yml",
    ], "a new export model makes its exposure and its contract stale"
    write(project / "registry", project)
    (exposure,) = yaml.safe_load((project / rel).read_text())["exposures"]
    assert exposure["name"] == "helpdesk_customers"
    assert exposure["type"] == "application"
    assert exposure["depends_on"] == ["ref('exp_helpdesk__customers')"]
    assert exposure["owner"] == {"name": "data-platform", "email": "ada.okafor@example.com"}
    assert exposure["meta"]["target_system"] == "helpdesk"


def test_write_then_check_round_trip(project: Path) -> None:
    assert sorted(write(project / "registry", project)) == sorted(render(project / "registry", project))
    assert write(project / "registry", project) == []
    assert stale_files(project / "registry", project) == []
    seed = project / "seeds/generated/domain_sources.csv"
    seed.write_text(seed.read_text() + "customer,crm,leads,landing.crm__leads\n")
    assert stale_files(project / "registry", project) == ["seeds/generated/domain_sources.csv"]


@pytest.mark.slow
def test_dbt_parses_the_generated_seeds_and_exposures(tmp_path: Path) -> None:
    """A copy of the project, with one export model, parses with the generated files."""
    project = tmp_path / "project"
    shutil.copytree(REPO, project, ignore=shutil.ignore_patterns(
        ".venv", ".git", "target", ".warehouse", "logs", "*.duckdb", "__pycache__", ".hypothesis",
        "tests", "bench", ".pytest_cache", ".ruff_cache"))
    (project / "models" / "exports").mkdir(exist_ok=True)
    (project / "models" / "exports" / "exp_helpdesk__customers.sql").write_text(
        "select customer_id from {{ ref('customer_state') }}\n")
    write(project / "registry", project)
    env = {**os.environ, "DBT_PROFILES_DIR": str(project),
           "SYNCGOV_WAREHOUSE": str(tmp_path / "w.duckdb")}
    out = subprocess.run([str(VENV_BIN / "dbt"), "parse", "--project-dir", str(project),
                          "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path)],
                         capture_output=True, text=True, env=env, check=False)
    assert out.returncode == 0, out.stdout[-2000:]
    manifest = (tmp_path / "target" / "manifest.json").read_text()
    assert '"exposure.syncgov.helpdesk_customers"' in manifest
    assert '"seed.syncgov.domain_sources"' in manifest


# Issue 15: generate --check catches every hand edit of a generated file.

@pytest.fixture
def generated(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "registry", tmp_path / "registry")
    for rel in ("models", "macros", "seeds"):
        shutil.copytree(REPO / rel, tmp_path / rel)
    assert stale_files(tmp_path / "registry", tmp_path) == []
    return tmp_path


@pytest.mark.parametrize(("rel", "old", "new"), [
    # a landing table dropped from the catalogue the control models read
    ("macros/generated/sync_landing_tables.sql",
     '    {"system": "crm", "entity": "accounts"', '    {"system": "crm", "entity": "gone"'),
    # a source's freshness removed, or its SLO changed, in the sources YAML
    ("models/staging/erp/_erp__sources.yml",
     "          freshness:\n", "          no_freshness:\n"),
    ("models/staging/erp/_erp__sources.yml",
     "arguments: {landing_table: erp__invoices, slo_minutes: 1500}",
     "arguments: {landing_table: erp__invoices, slo_minutes: 1440}"),
    # a state model's history pointed at another key
    ("models/history/order_history.sql", "key='order_id'", "key='customer_id'"),
    # a staging model's enum edited by hand
    ("models/staging/crm/stg_crm__accounts.sql", "'smb'", "'small'"),
])
def test_check_catches_a_hand_edit(generated: Path, rel: str, old: str, new: str) -> None:
    path = generated / rel
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    assert stale_files(generated / "registry", generated) == [rel]


def test_the_snapshots_the_history_models_replaced_are_removed(generated: Path) -> None:
    """A project generated before issue 18 holds snapshots/_snapshots.yml: stale, and removed."""
    old = generated / "snapshots" / "_snapshots.yml"
    old.parent.mkdir()
    old.write_text((REPO / "tests/fixtures/history/legacy_snapshots.yml").read_text()
                   .replace("# The dbt snapshots", "# Generated by `syncgov generate` from"
                            " registry/domains.yml. Do not edit:\n# The dbt snapshots", 1))
    assert stale_files(generated / "registry", generated) == ["snapshots/_snapshots.yml"]
    assert write(generated / "registry", generated) == ["snapshots/_snapshots.yml (removed)"]
    assert not old.exists()
    assert stale_files(generated / "registry", generated) == []


def test_a_generated_file_the_registry_no_longer_implies_is_stale(generated: Path) -> None:
    flows = generated / "registry" / "flows.yml"
    text = flows.read_text()
    start = text.index("  srm_supplier_risk_to_warehouse:")
    end = text.index("  warehouse_customers_to_helpdesk:")
    flows.write_text(text[:start] + text[end:])
    stale = stale_files(generated / "registry", generated)
    assert "models/staging/srm/stg_srm__supplier_risk.sql" in stale
    assert "models/state/by_source/state_srm__supplier_risk.sql" in stale
    assert "macros/generated/sync_landing_tables.sql" in stale
    written = write(generated / "registry", generated)
    assert "models/staging/srm/stg_srm__supplier_risk.sql (removed)" in written
    assert not (generated / "models/staging/srm/stg_srm__supplier_risk.sql").exists()
    assert stale_files(generated / "registry", generated) == []


def test_the_invoice_slo_is_written_once(generated: Path) -> None:
    """The shipped project disagreed with itself (SLO 1500, freshness and test 1440)."""
    sources = yaml.safe_load((generated / "models/staging/erp/_erp__sources.yml").read_text())
    (invoices,) = [t for t in sources["sources"][0]["tables"] if t["name"] == "invoices"]
    assert invoices["config"]["freshness"]["error_after"] == {"count": 1500, "period": "minute"}
    assert invoices["config"]["freshness"]["warn_after"] == {"count": 750, "period": "minute"}
    (test,) = invoices["data_tests"]
    assert test["sync_batch_latency_within_slo"]["arguments"]["slo_minutes"] == 1500


def test_a_registry_that_cannot_generate_names_file_and_line(generated: Path) -> None:
    domains = generated / "registry" / "domains.yml"
    domains.write_text(domains.read_text().replace(
        "    key: {order_id: {classification: internal}}\n", ""))
    with pytest.raises(InputError, match=r"domains\.yml:\d+: domain 'order' has landing tables"
                       r" but no `key`"):
        render(generated / "registry", generated)


def _tests_of(document: dict) -> list[tuple[str, str, str, dict]]:
    """(model, column, test, its config) of every test a generated models file declares."""
    found = []
    for node in document["models"]:
        for column in node.get("columns", []):
            for test in column.get("data_tests", []):
                name, spec = (test, {}) if isinstance(test, str) else next(iter(test.items()))
                found.append((node["name"], column["name"], name, (spec or {}).get("config", {})))
    return found


def test_every_history_test_reads_the_delta_or_runs_nightly(project: Path) -> None:
    """Tests by cost reach the history models: each of their tests reads only the versions
    written since the cycle's point (a uniqueness or window test: every version of a key or id
    written since), or is a full_table test of the nightly job; none reads the whole history
    every cycle."""
    document = yaml.safe_load(render(project / "registry", REPO)["models/history/_history__models.yml"])
    tests = _tests_of(document)
    assert len(tests) == 6 * 5, tests
    for model, column, test, config in tests:
        where = config.get("where", "")
        if test in ("unique", "no_overlapping_windows"):
            assert where == f"sync_touched({column}, dbt_updated_at)", (model, column, test)
        elif column == "dbt_updated_at":
            assert config.get("tags") == ["full_table"], (model, column, test)
        else:
            assert where == "sync_delta(dbt_updated_at)", (model, column, test)
