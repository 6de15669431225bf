"""The status table and the metrics exposition for one hand-written board, against golden files.

Regenerate after an intended change with `SYNCGOV_UPDATE_GOLDEN=1 pytest
tests/python/test_operator_golden.py` and review the diff.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest
from rich.console import Console

from governance.control_tables import Attainment, ExportEvaluation
from governance.metrics import exposition
from governance.registry import load_registry
from governance.status import render_table, status_board, summary_line
from tests.python.test_status import health, snapshot

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
UPDATE = os.environ.get("SYNCGOV_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def board():
    rows = [health("inventory", "delayed"),
            health("inventory", "delayed", level="flow", flow="wms__inventory_movements"),
            health("customer", "partial", tier="tier_2"),
            health("customer", "partial", level="flow", flow="crm__accounts", tier="tier_2"),
            health("customer", "current", level="flow", flow="erp__customers", tier="tier_2")]
    log = {"helpdesk_customers": ExportEvaluation(
        "helpdesk_customers", datetime(2026, 11, 24, 9), "blocked",
        ({"check": "upstream_fresh", "message": "customer is partial"},), "b1")}
    return status_board(snapshot(rows, log), load_registry(REPO / "registry"))


def _check(name: str, output: str) -> None:
    golden = HERE / "golden" / name
    if UPDATE:
        golden.write_text(output)
    assert golden.exists(), f"run with SYNCGOV_UPDATE_GOLDEN=1 to create {name}"
    assert output == golden.read_text()


def test_status_table(board) -> None:
    console = Console(width=160, record=True, color_system=None, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(render_table(board))
    console.print(summary_line(board), highlight=False)
    _check("status.txt", console.export_text())


def test_metrics_exposition(board) -> None:
    attainment = (Attainment("inventory", 7, 10, 9, 0.9, 0.99, 10.0),)
    _check("metrics.prom", exposition(board, attainment))
