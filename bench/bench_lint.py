"""Time `lint` on a generated registry of N domains and N flows, with a dbt manifest of the same
size (N landing sources, N state models with their key tests), median of 5 runs.

Usage: python -m bench.bench_lint [--json] [N ...]   (default: 500 5000). Writes into a temp dir
only. `make bench` runs it once per size with --json and records the median and peak memory.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from governance.lint import lint, load_manifest

VALID = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "registry" / "valid"
CADENCES = ["*/15 * * * *", "*/5 * * * *", "*/10 * * * *", "*/30 * * * *"]

DOMAIN = """  customer_{i}:
    system_of_record: crm
    criticality: tier_2
    slo_minutes: 60
    cadence: "{cadence}"
    conflict_policy: manual_review
    degradation: retry
    owners: {{technical: platform, business: sales}}
    last_reviewed: "2026-10-01"
    review_cycle_days: 180
    fields:
      email: {{owner: crm, classification: pii}}
      credit_limit: {{owner: crm, classification: confidential}}
"""

FLOW = """  crm_to_warehouse_{i}:
    domain: customer_{i}
    from: crm
    to: erp
    direction: one_way
    transport: api
    dbt_nodes:
      - source.syncgov.crm.entity_{i}
      - model.syncgov.customer_{i}_state
"""


def _manifest(n: int, project: Path) -> dict:
    sources, nodes = {}, {}
    for i in range(n):
        uid = f"source.syncgov.crm.entity_{i}"
        sources[uid] = {
            "unique_id": uid, "source_name": "crm", "name": f"entity_{i}",
            "meta": {"domain": f"customer_{i}"}, "loaded_at_query": "select 1",
            "freshness": {"error_after": {"count": 1, "period": "hour"}},
            "original_file_path": "models/staging/_sources.yml"}
        model = f"model.syncgov.customer_{i}_state"
        nodes[model] = {"unique_id": model, "name": f"customer_{i}_state", "resource_type": "model",
                        "fqn": ["syncgov", "state", f"customer_{i}_state"],
                        "config": {"unique_key": "customer_id"},
                        "original_file_path": f"models/state/customer_{i}_state.sql"}
        for test in ("unique", "not_null"):
            tid = f"test.syncgov.{test}_customer_{i}_state_customer_id"
            nodes[tid] = {"unique_id": tid, "resource_type": "test", "attached_node": model,
                          "column_name": "customer_id", "test_metadata": {"name": test}}
    nodes["model.syncgov.exp_crm__customer_credit"] = {
        "unique_id": "model.syncgov.exp_crm__customer_credit", "name": "exp_crm__customer_credit",
        "resource_type": "model", "fqn": ["syncgov", "exports", "exp_crm__customer_credit"],
        "config": {}, "original_file_path": "models/exports/exp_crm__customer_credit.sql"}
    for test in ("unique", "not_null"):
        tid = f"test.syncgov.{test}_exp_customer_id"
        nodes[tid] = {"unique_id": tid, "resource_type": "test",
                      "attached_node": "model.syncgov.exp_crm__customer_credit",
                      "column_name": "customer_id", "test_metadata": {"name": test}}
    return {"metadata": {"project_name": "syncgov"}, "nodes": nodes, "sources": sources,
            "_project_dir": str(project)}


def build(root: Path, n: int) -> Path:
    registry = root / "registry"
    shutil.copytree(VALID, registry)
    (registry / "domains.yml").write_text("domains:\n" + "".join(
        DOMAIN.format(i=i, cadence=CADENCES[i % len(CADENCES)]) for i in range(n)))
    (registry / "flows.yml").write_text("flows:\n" + "".join(FLOW.format(i=i) for i in range(n)))
    exports = (VALID / "exports.yml").read_text().replace("domain: customer", "domain: customer_0")
    exports = exports.replace("system: crm", "system: erp")
    (registry / "exports.yml").write_text(exports)
    (root / "target").mkdir()
    manifest = _manifest(n, root)
    del manifest["_project_dir"]
    (root / "target" / "manifest.json").write_text(json.dumps(manifest))
    return registry


def time_lint(n: int, repeat: int = 5) -> tuple[float, int]:
    """Median seconds of `repeat` lints of a generated registry of n domains; findings."""
    with tempfile.TemporaryDirectory() as tmp:
        registry = build(Path(tmp), n)
        timings = []
        for _ in range(repeat):
            start = time.perf_counter()
            # what `syncgov lint` does: read the manifest, load and lint the registry
            findings = lint(registry, today=date(2026, 11, 24),
                            manifest=load_manifest(registry.parent))
            timings.append(time.perf_counter() - start)
    return statistics.median(timings), len(findings)


def main(args: list[str]) -> None:
    as_json = "--json" in args
    for n in [int(a) for a in args if a != "--json"] or [500, 5000]:
        median, findings = time_lint(n)
        if as_json:
            print(json.dumps({"domains": n, "median_seconds": median, "findings": findings}))
        else:
            print(f"{n} domains + {n} flows + manifest of {n} sources / {n} models:"
                  f" median {median:.3f}s ({findings} findings)")


if __name__ == "__main__":
    main(sys.argv[1:])
