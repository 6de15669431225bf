"""`syncgov export` usage and unreadable input, without a warehouse: exit 2 and one line.
(Verdicts and exit 1 are tested against a real warehouse in tests/e2e/test_exports_gate.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _export(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from governance.cli import run; run()",
                           "export", *args], capture_output=True, text=True, cwd=cwd,
                          check=False)


def test_help_explains_the_gate_and_the_exit_codes() -> None:
    out = _export("--help")
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    for phrase in ("--render [drt|census]", "--target-dir", "--out", "pause_downstream blocks",
                   "audit.sync_export_log", "Exit codes: 0 every export is publishable or warn,"
                   " 1 at least one is blocked, 2 unreadable input or bad usage"):
        assert phrase in text, phrase


def test_missing_dbt_artifacts_exit_2(tmp_path: Path) -> None:
    out = _export("--target-dir", str(tmp_path / "target"), "--warehouse",
                  str(tmp_path / "w.duckdb"))
    assert out.returncode == 2
    # progress lines, then the error on one line
    assert out.stderr.splitlines()[-1].startswith("syncgov: error: ")
    assert out.stderr.splitlines()[-1].endswith("manifest.json not found: run `dbt build` first")
    assert "Traceback" not in out.stderr


def test_an_unknown_export_exits_2(tmp_path: Path) -> None:
    out = _export("--select", "nope", "--target-dir", str(tmp_path))
    assert out.returncode == 2
    assert "unknown export(s) nope; declared: helpdesk_customers," in out.stderr


def test_an_unknown_renderer_exits_2() -> None:
    out = _export("--render", "hightouch")
    assert out.returncode == 2
    assert "'hightouch' is not one of 'drt', 'census'" in out.stderr


def test_an_unreadable_registry_exits_2(tmp_path: Path) -> None:
    out = _export("--registry", str(tmp_path / "none"), "--target-dir", str(tmp_path))
    assert out.returncode == 2
    assert "registry directory not found" in out.stderr
