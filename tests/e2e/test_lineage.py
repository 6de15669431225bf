"""OpenLineage from a warehouse built by the real dbt: `syncgov export` emits a run per export
to the file the environment names, and a cycle's datasets carry the control facets of the
real control tables; every event validates against the OpenLineage 2-0-2 schemas."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from governance.observe import lineage as ol
from governance.registry import load_registry
from tests.e2e.conftest import Warehouse
from tests.python.observe.openlineage_schema import errors

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("lineage")]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built(project_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    wh = Warehouse(project_dir, tmp_path_factory.mktemp("lineage"))
    wh.simulate(seed=5, now=datetime.now(UTC), events=3000, entities=150, batches=4)
    wh.dbt("build")
    wh.dbt("source", "freshness", check=False)
    return wh


def test_syncgov_export_emits_a_valid_run_per_export(built: Warehouse, tmp_path: Path) -> None:
    events_file = tmp_path / "openlineage.jsonl"
    env = {**os.environ, "SYNCGOV_OPENLINEAGE_FILE": str(events_file),
           "SYNCGOV_WAREHOUSE": str(built.path)}
    env.pop("OPENLINEAGE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", "from governance.cli import run; run()", "export",
         "--target-dir", str(built.target), "--warehouse", str(built.path),
         "--out", str(tmp_path / "exports")],
        capture_output=True, text=True, cwd=REPO, env=env, check=False, timeout=300)
    assert out.returncode in (0, 1), out.stderr
    assert "warning" not in out.stderr
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    index = json.loads((tmp_path / "exports" / "index.json").read_text())
    verdicts = {e["export_id"]: e["verdict"] for e in index["exports"]}
    assert len(events) == 2 * len(verdicts)
    for event in events:
        assert errors(event) == [], event
    for export_id, verdict in verdicts.items():
        mine = [e for e in events if e["job"]["name"] == f"syncgov.export.{export_id}"]
        assert [e["eventType"] for e in mine] == [
            "START", "FAIL" if verdict == "blocked" else "COMPLETE"]
        assert mine[0]["run"]["runId"] == mine[1]["run"]["runId"]
        [model] = mine[1]["inputs"]
        manifest = json.loads((tmp_path / "exports" / "manifests" / f"{export_id}.json")
                              .read_text())
        assert model["namespace"] == f"duckdb://{built.path.resolve()}"
        assert model["name"] == f"syncgov.{manifest['source']['schema']}." \
                                f"{manifest['source']['name']}"
        verdict_assertion = model["inputFacets"]["dataQualityAssertions"]["assertions"][-1]
        assert verdict_assertion["actual"] == verdict
        assert model["inputFacets"]["dataQualityMetrics"]["rowCount"] == \
            manifest["row_counts"]["current"]
        owners = {o["type"]: o["name"] for o in mine[0]["job"]["facets"]["ownership"]["owners"]}
        assert owners["TECHNICAL_OWNER"] == f"team:{manifest['owners']['technical']['team']}"


def test_cycle_datasets_carry_the_real_control_facets(built: Warehouse, tmp_path: Path) -> None:
    manifest = json.loads((built.target / "manifest.json").read_text())
    inputs, outputs = ol.cycle_datasets(built.path, load_registry(REPO / "registry"), manifest)
    em = ol.LineageEmitter(ol.FileTransport(tmp_path / "cycle.jsonl"))
    run = em.start("syncgov.cycle", inputs=inputs, outputs=outputs)
    em.complete(run, inputs=inputs, outputs=outputs)
    events = [json.loads(line) for line in (tmp_path / "cycle.jsonl").read_text().splitlines()]
    for event in events:
        assert errors(event) == []
    landed = dict(built.query("select landing_table, count(*) from"
                              " control.sync_event_dispositions group by 1"))
    by_name = {d["name"]: d for d in inputs}
    assert set(by_name) == {f"syncgov.landing.{t}" for t in landed}
    for table, rows in landed.items():
        facets = by_name[f"syncgov.landing.{table}"]["inputFacets"]
        assert facets["syncgov_dispositions"]["landed"] == rows
        assert sum(facets["syncgov_dispositions"]["dispositions"].values()) == rows
    names = {d["name"] for d in outputs}
    assert {"syncgov.state.customer_state", "syncgov.control.sync_health"} <= names
