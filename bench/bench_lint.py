"""Time `lint` on a generated registry of N domains and N flows (median of 5 runs).

Usage: python bench/bench_lint.py [N ...]   (default: 500 5000)
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from governance.lint import lint

VALID = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "registry" / "valid"

DOMAIN = """  customer_{i}:
    system_of_record: crm
    criticality: tier_2
    slo_minutes: 60
    cadence: "*/15 * * * *"
    conflict_policy: manual_review
    degradation: retry
    owners: {{technical: platform, business: sales}}
    last_reviewed: "2026-10-01"
    review_cycle_days: 180
    fields:
      email: {{owner: crm, classification: pii}}
      credit_limit: {{owner: erp, classification: confidential}}
"""

FLOW = """  crm_to_erp_{i}:
    domain: customer_{i}
    from: crm
    to: erp
    direction: one_way
    transport: api
    dbt_nodes: [source.syncgov.crm.accounts]
"""


def build(root: Path, n: int) -> Path:
    registry = root / "registry"
    shutil.copytree(VALID, registry)
    (registry / "domains.yml").write_text("domains:\n" + "".join(DOMAIN.format(i=i) for i in range(n)))
    (registry / "flows.yml").write_text("flows:\n" + "".join(FLOW.format(i=i) for i in range(n)))
    return registry


def main(sizes: list[int]) -> None:
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            registry = build(Path(tmp), n)
            timings = []
            for _ in range(5):
                start = time.perf_counter()
                findings = lint(registry, today=date(2026, 11, 24))
                timings.append(time.perf_counter() - start)
            print(f"{n} domains + {n} flows: median {statistics.median(timings):.3f}s "
                  f"({len(findings)} findings)")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [500, 5000])
