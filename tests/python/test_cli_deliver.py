"""`syncgov deliver` and `syncgov reconcile-targets` on foreseeable mistakes: one line, exit 2,
no traceback, nothing created."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def _syncgov(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from governance.cli import run; run()", *args],
                          capture_output=True, text=True, cwd=cwd, check=False, timeout=120)


def test_deliver_before_export_says_what_to_run(tmp_path: Path) -> None:
    out = _syncgov("deliver", "--warehouse", str(tmp_path / "w.duckdb"), cwd=tmp_path)
    assert out.returncode == 2
    assert "index.json: run `syncgov export` first" in out.stderr
    assert "Traceback" not in out.stderr


def test_deliver_without_a_warehouse_creates_none(tmp_path: Path) -> None:
    exports = tmp_path / "target" / "exports"
    (exports / "manifests").mkdir(parents=True)
    (exports / "index.json").write_text(json.dumps({"exports": [
        {"export_id": "x", "manifest": "manifests/x.json"}]}))
    (exports / "manifests" / "x.json").write_text(json.dumps({
        "export_id": "x", "gate": {"verdict": "publishable"},
        "destination": {"system": "crm", "object": "t", "match_key": []},
        "source": {"dbt_unique_id": "model.p.x", "name": "x"}, "fields": []}))
    (tmp_path / "target" / "manifest.json").write_text(json.dumps(
        {"nodes": {"model.p.x": {"columns": {}}}}))
    out = _syncgov("deliver", "--warehouse", str(tmp_path / "w.duckdb"), cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "no warehouse" in out.stderr
    assert not (tmp_path / "w.duckdb").exists()


def test_an_unknown_export_is_a_usage_error(tmp_path: Path) -> None:
    exports = tmp_path / "target" / "exports"
    exports.mkdir(parents=True)
    (exports / "index.json").write_text(json.dumps({"exports": []}))
    out = _syncgov("reconcile-targets", "--select", "nope", cwd=tmp_path)
    assert out.returncode == 2
    assert "unknown export(s) nope" in out.stderr
