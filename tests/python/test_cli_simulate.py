from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from governance.simulate.catalog import LANDING_TABLES

SYNCGOV = [sys.executable, "-c", "from governance.cli import run; run()"]


def syncgov(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SYNCGOV, *args], capture_output=True, text=True, check=False)


def test_help_documents_every_option() -> None:
    out = syncgov("simulate", "--help")
    assert out.returncode == 0
    for option in ("--seed", "--now", "--entities", "--events", "--batches", "--faults",
                   "--append", "--replace", "--warehouse", "--truth"):
        assert option in out.stdout, option
    for fault in ("duplicate", "out_of_order", "late", "conflict", "invalid",
                  "missing_batch", "partial_batch", "stalled_system"):
        assert fault in out.stdout, fault


@pytest.mark.parametrize(
    "args",
    [
        ["--seed", "abc"],
        ["--now", "yesterday"],
        ["--entities", "0"],
        ["--batches", "-1"],
        ["--faults", "dup=0.1"],
        ["--faults", "invalid=2"],
        ["--append", "--replace"],
        ["--append", "--events", "10"],
        ["--bogus"],
    ],
)
def test_bad_values_get_one_line_and_exit_2(args: list[str], tmp_path: Path) -> None:
    out = syncgov("simulate", "--warehouse", str(tmp_path / "w.duckdb"), *args)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith("syncgov: error: ")
    assert "Traceback" not in out.stderr


def test_append_to_missing_warehouse_is_a_clear_error(tmp_path: Path) -> None:
    out = syncgov("simulate", "--warehouse", str(tmp_path / "w.duckdb"), "--append")
    assert out.returncode == 2
    assert "run `syncgov simulate` without --append first" in out.stderr


def test_simulate_writes_warehouse_and_truth(tmp_path: Path) -> None:
    wh = tmp_path / "w.duckdb"
    out = syncgov("simulate", "--warehouse", str(wh), "--events", "2000", "--faults", "demo",
                  "--now", "2026-11-24T12:00:00Z", "-q")
    assert out.returncode == 0, out.stderr
    assert wh.exists()
    assert (tmp_path / "simulate_truth.json").exists()
    assert f"rows landed in {len(LANDING_TABLES)} tables" in out.stdout
