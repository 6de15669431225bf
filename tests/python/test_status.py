"""The paging decision and the status board, on control rows written out by hand."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from governance.control_tables import ControlSnapshot, ExportEvaluation, Health
from governance.registry import load_registry
from governance.status import status_board, to_json

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 24, 12, 0)


def health(domain: str, status: str, *, level: str = "domain", flow: str | None = None,
           tier: str = "tier_1") -> Health:
    return Health(level, domain, flow, flow.split("__")[0] if flow else None, tier, 5, NOW,
                  None, "success", 1, 0.5, 0.9, 10, 1, 2, 0, 0, 3, None, NOW, status,
                  f"{flow or domain}: {status}")


def snapshot(rows: list[Health], log: dict | None = None) -> ControlSnapshot:
    return ControlSnapshot("w.duckdb", tuple(rows), (), (), {}, (), (), (), (), (), log)


@pytest.fixture(scope="module")
def registry():
    return load_registry(REPO / "registry")


@pytest.mark.parametrize(("domain", "status", "pages"), [
    ("inventory", "delayed", True),   # tier_1
    ("order", "failed", True),        # tier_1
    ("inventory", "partial", False),  # gaps do not page
    ("inventory", "unknown", False),
    ("customer", "failed", False),    # tier_2
    ("invoice", "delayed", False),    # tier_3
])
def test_paging_follows_tier_and_status(registry, domain: str, status: str, pages: bool) -> None:
    board = status_board(snapshot([health(domain, status)]), registry)
    assert board.domain(domain).pages is pages
    assert [d.domain for d in board.paging] == ([domain] if pages else [])


def test_paging_tiers_come_from_the_policy(tmp_path: Path) -> None:
    shutil.copytree(REPO / "registry", tmp_path / "registry")
    policy = tmp_path / "registry" / "policy.yml"
    policy.write_text(policy.read_text().replace("paging_tiers: [tier_1]",
                                                 "paging_tiers: [tier_1, tier_3]"))
    board = status_board(snapshot([health("invoice", "delayed")]), load_registry(policy.parent))
    assert board.paging_tiers == ("tier_1", "tier_3")
    assert [d.domain for d in board.paging] == ["invoice"]


def test_domains_without_health_are_unknown_and_flows_are_grouped(registry) -> None:
    rows = [health("order", "partial"),
            health("order", "partial", level="flow", flow="oms__orders"),
            health("order", "current", level="flow", flow="oms__order_status_events")]
    board = status_board(snapshot(rows), registry)
    assert [f.flow for f in board.domain("order").flows] == ["oms__orders",
                                                             "oms__order_status_events"]
    assert board.domain("customer").status == "unknown"
    assert "not in control.sync_health" in board.domain("customer").reason
    assert [d.domain for d in board.domains] == list(
        registry["domains"].data["domains"])  # registry order


def test_exports_show_under_every_domain_they_read(registry) -> None:
    log = {"storefront_product_availability": ExportEvaluation(
        "storefront_product_availability", NOW, "blocked", ({"check": "fresh"},), "b1")}
    board = status_board(snapshot([], log), registry)
    assert [e.verdict for e in board.domain("inventory").exports] == ["blocked"]
    assert [e.export_id for e in board.domain("product").exports] == [
        "storefront_product_availability"]
    assert [e.verdict for e in board.domain("customer").exports] == ["not_evaluated"]
    document = json.loads(json.dumps(to_json(board)))
    assert document["exports"][1]["verdict"] == "blocked"
