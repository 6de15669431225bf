"""Formatter output for one broken registry, compared with golden files.

Regenerate after an intended change with `SYNCGOV_UPDATE_GOLDEN=1 pytest tests/python/formatters`
and review the diff.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from governance.formatters import FORMATTERS
from governance.lint import lint

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parents[1] / "fixtures" / "registry"
UPDATE = os.environ.get("SYNCGOV_UPDATE_GOLDEN") == "1"
SUFFIX = {"text": "txt", "json": "json", "github": "txt", "sarif": "sarif", "junit": "xml"}


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory):
    """An error and a warning, in two registry files."""
    root = tmp_path_factory.mktemp("golden")
    registry = root / "registry"
    shutil.copytree(FIXTURES / "valid", registry)
    for case in ("SG701_export_above_clearance", "SG202_review_due_soon"):
        for overlay in (FIXTURES / "broken" / case).glob("*.yml"):
            shutil.copy(overlay, registry / overlay.name)
    cwd = Path.cwd()
    os.chdir(root)  # paths in the report are relative to the working directory
    try:
        yield lint(Path("registry"), today=date(2026, 11, 24))
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("fmt", sorted(FORMATTERS))
def test_output_matches_the_golden_file(findings, fmt: str) -> None:
    output = FORMATTERS[fmt](findings)
    if fmt == "sarif":
        # the tool version changes with every release, rule texts with every docstring edit
        # (the rules section is checked against the rule registry in test_formatters.py)
        document = json.loads(output)
        driver = document["runs"][0]["tool"]["driver"]
        driver["version"] = "GOLDEN"
        driver["rules"] = [r["id"] for r in driver["rules"]]
        output = json.dumps(document, indent=2) + "\n"
    golden = HERE / "golden" / f"lint.{fmt}.{SUFFIX[fmt]}"
    if UPDATE:
        golden.write_text(output)
    assert golden.exists(), f"run with SYNCGOV_UPDATE_GOLDEN=1 to create {golden.name}"
    assert output == golden.read_text()
