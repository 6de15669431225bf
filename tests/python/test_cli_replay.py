"""`syncgov replay` on bad input: one line and exit 2, never a traceback; --since in UTC."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from governance.cli import main
from governance.simulate import SimulationParams, simulate

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("replay") / "syncgov.duckdb"
    simulate(SimulationParams(warehouse=path, seed=3, now=NOW, events=300, entities=20,
                              batches=2))
    return path


def replay(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["replay", "--project-dir", str(REPO), "--domain",
                                       "customer", *args])
    return result.exit_code, result.output


def test_since_with_an_offset_is_converted_to_utc(landed: Path) -> None:
    code, out = replay("--since", "2026-11-24T13:00:00+02:00", "--dry-run", "--warehouse",
                       str(landed), "--now", NOW.isoformat())
    assert code == 0, out
    assert "replay customer since 2026-11-24 11:00:00 UTC" in out


def test_since_in_the_future_is_exit_2(landed: Path) -> None:
    code, out = replay("--since", "2026-11-25T00:00:00Z", "--dry-run", "--warehouse",
                       str(landed), "--now", NOW.isoformat())
    assert code == 2
    assert out.count("\n") == 1
    assert "is in the future" in out


def test_not_a_duckdb_warehouse_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "text.duckdb"
    path.write_text("hello")
    code, out = replay("--since", "2026-11-24T10:00:00Z", "--warehouse", str(path),
                       "--now", NOW.isoformat())
    assert code == 2
    assert out.count("\n") == 1
    assert "not a DuckDB warehouse" in out


def test_a_locked_warehouse_is_one_line_exit_2(landed: Path, tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]);"
         " print('held', flush=True); time.sleep(60)", str(landed)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        code, out = replay("--since", "2026-11-24T10:00:00Z", "--warehouse", str(landed),
                           "--now", NOW.isoformat())
        assert time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait()
    assert code == 2, out
    assert out.count("\n") == 1
    assert "Traceback" not in out
    assert "if dbt is running, try again when it ends" in out
