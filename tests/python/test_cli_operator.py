"""Every operator command without a warehouse or manifest: one line, exit 2, what to run."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from governance.cli import main


@pytest.mark.parametrize("command", [
    ["status"], ["status", "--format", "json"], ["metrics"], ["report", "--out", "r.html"],
    ["contracts", "--out", "contracts"],
])
def test_missing_warehouse(command: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [*command, "--warehouse", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "no warehouse yet; run `make demo`" in result.output


def test_warehouse_without_control_tables(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    result = CliRunner().invoke(main, ["status", "--warehouse", str(path)])
    assert result.exit_code == 2
    assert "no control tables yet" in result.output


def test_not_a_duckdb_file(tmp_path: Path) -> None:
    path = tmp_path / "text.duckdb"
    path.write_text("hello")
    result = CliRunner().invoke(main, ["metrics", "--warehouse", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_impact_without_manifest(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["impact", "customer", "--project-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "run `dbt parse`" in result.output
