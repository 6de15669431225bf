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

from governance.generate import GENERATED, render, stale_files, write

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
    assert stale_files(project / "registry", project) == [rel], "a new export model makes it stale"
    write(project / "registry", project)
    (exposure,) = yaml.safe_load((project / rel).read_text())["exposures"]
    assert exposure["name"] == "helpdesk_customers"
    assert exposure["type"] == "application"
    assert exposure["depends_on"] == ["ref('exp_helpdesk__customers')"]
    assert exposure["owner"] == {"name": "data-platform", "email": "ada.okafor@example.com"}
    assert exposure["meta"]["target_system"] == "helpdesk"


def test_write_then_check_round_trip(project: Path) -> None:
    assert sorted(write(project / "registry", project)) == sorted(GENERATED)
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
