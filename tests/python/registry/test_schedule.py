"""`syncgov schedule`: one job per cadence, in JSON, crontab and GitHub Actions form."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from governance.registry import load_registry
from governance.schedule import plan, render

REPO = Path(__file__).resolve().parents[3]
REGISTRY = REPO / "registry"


def test_one_job_per_cadence_with_the_domains_sources() -> None:
    jobs = {j.name: j for j in plan(load_registry(REGISTRY))}
    assert sorted(jobs) == ["sync_customer", "sync_inventory", "sync_invoice", "sync_order",
                            "sync_product", "sync_supplier"]
    customer = jobs["sync_customer"]
    assert customer.cron == "*/15 * * * *"
    assert customer.sources == ("crm.accounts", "erp.customers", "helpdesk.contacts")
    assert customer.freshness_command == (
        "dbt source freshness --select source:crm.accounts source:erp.customers"
        " source:helpdesk.contacts")
    assert customer.build_command == (
        "dbt build --select source:crm.accounts+ source:erp.customers+ source:helpdesk.contacts+")
    assert jobs["sync_inventory"].cron == "* * * * *", "realtime: every minute"


def test_domains_sharing_a_cadence_share_a_job(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    registry.mkdir()
    for path in REGISTRY.glob("*.yml"):
        (registry / path.name).write_text(path.read_text())
    domains = registry / "domains.yml"
    domains.write_text(domains.read_text().replace('cadence: "0 3,15 * * *"', 'cadence: "0 2 * * *"'))
    jobs = {j.name: j for j in plan(load_registry(registry))}
    shared = jobs["sync_invoice_supplier"]
    assert shared.domains == ("invoice", "supplier")
    assert shared.sources == ("erp.invoices", "erp.suppliers", "srm.supplier_risk")


def test_json_lists_commands() -> None:
    data = json.loads(render(REGISTRY, "json", REPO))
    order = next(j for j in data if j["name"] == "sync_order")
    assert order["commands"] == ["syncgov run --cadence sync_order --wait 600 --quiet"]
    assert order["dbt_commands"] == [
        "dbt source freshness --select source:oms.order_status_events source:oms.orders",
        "dbt build --select source:oms.order_status_events+ source:oms.orders+"
        " --exclude tag:full_table --exclude-resource-type unit_test"], (
            "a cycle leaves the full-table tests and the unit tests to the nightly job")
    assert next(j for j in data if j["name"] == "sync_inventory")["streaming"] is True
    nightly = next(j for j in data if j["name"] == "full_table_tests")
    assert nightly["cron"] == "30 1 * * *"
    assert nightly["kind"] == "full_tests"
    assert nightly["commands"] == ["syncgov run --cadence full_table_tests --wait 600 --quiet"]
    assert nightly["dbt_commands"] == ["dbt test"], "every test, over its whole table"


def test_crontab_lines() -> None:
    lines = render(REGISTRY, "crontab", Path("/srv/syncgov")).splitlines()
    assert "DBT_PROFILES_DIR=/srv/syncgov" in lines
    (path,) = [line for line in lines if line.startswith("PATH=")]
    assert Path(path.removeprefix("PATH=").split(":")[0], "syncgov").is_file(), "cron finds it"
    syncgov = Path(path.removeprefix("PATH=").split(":")[0], "syncgov")
    assert (f"0 2 * * * cd /srv/syncgov && mkdir -p logs && {syncgov} run --cadence sync_invoice"
            " --wait 600 --quiet >> logs/sync_invoice.log 2>&1") in lines
    entries = [line for line in lines if line and not line.startswith("#") and "=" not in line]
    assert len(entries) == 7, "one entry per cadence (freshness and build), one nightly"
    assert all(" run --cadence " in e and " --wait " in e for e in entries)
    assert (f"30 1 * * * cd /srv/syncgov && mkdir -p logs && {syncgov} run --cadence"
            " full_table_tests --wait 600 --quiet >> logs/full_table_tests.log 2>&1") in lines, \
        "the full-table tests have a cadence of their own, on the same lock (--wait)"


def test_github_actions_workflow_is_valid(tmp_path: Path) -> None:
    workflow = tmp_path / "syncgov-schedule.yml"
    workflow.write_text(render(REGISTRY, "github-actions", REPO))
    out = subprocess.run([str(REPO / ".venv" / "bin" / "check-jsonschema"), "--builtin-schema",
                          "vendor.github-workflows", str(workflow)],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    text = workflow.read_text()
    assert "- cron: '*/5 * * * *'" in text, "realtime falls back to GitHub's 5-minute minimum"
    assert "github.event.schedule == '0 3,15 * * *'" in text
    assert "needs: sync_customer" in text, "jobs of one run go one after the other"
    assert "run: .venv/bin/syncgov run --cadence sync_supplier --wait 600 --quiet" in text
    assert "group: syncgov-warehouse" in text
    assert "- cron: 30 1 * * *" in text or "- cron: '30 1 * * *'" in text
    assert "run: .venv/bin/syncgov run --cadence full_table_tests --wait 600 --quiet" in text
    assert "cancel-in-progress: false" in text
