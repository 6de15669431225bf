"""Tests by cost (issue 18): what the every-cycle test set costs against the full set.

Simulate BENCH_TEST_EVENTS events (default 1M) in batches of bench_delta's size, `dbt build`
it, append DELTA_BATCHES batches and build them incrementally (the cycle's build); then, on
that same warehouse, time `dbt test` twice per repetition: the every-cycle set (the scope of
the append's build in the environment, `--exclude tag:full_table`) and the full set (no scope:
every test over its whole table, what the nightly job runs). Wall seconds of the command and
the sum of the tests' own execution seconds (run_results.json), medians of BENCH_REPEAT.

`python -m bench.bench_test_cost` prints the figures and writes bench/results/test_cost.json.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.bench_delta import DELTA_BATCHES, EVENTS_PER_BATCH
from governance.dbt_invoke import run_dbt
from governance.simulate import SimulationParams, simulate

REPO = Path(__file__).resolve().parents[1]


def _test_seconds(target: Path) -> tuple[int, float]:
    results = json.loads((target / "run_results.json").read_text())["results"]
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    return len(tests), sum(r["execution_time"] for r in tests)


def main() -> None:
    events = int(os.environ.get("BENCH_TEST_EVENTS", "1000000"))
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))
    root = Path(tempfile.mkdtemp(prefix="bench-test-cost-"))
    warehouse, target = root / "syncgov.duckdb", root / "target"
    env = {"SYNCGOV_WAREHOUSE": str(warehouse)}
    batches = max(events // EVENTS_PER_BATCH, 2)
    params = {"seed": 18, "events": events, "entities": max(events // 50, 100),
              "batches": batches}
    start = datetime.now(UTC).replace(tzinfo=None)
    simulate(SimulationParams(warehouse=warehouse, now=start, **params))
    run_dbt(["build"], project_dir=REPO, log_path=root / "logs/full-build.log", env=env,
            target_dir=target)
    simulate(SimulationParams(warehouse=warehouse, now=datetime.now(UTC).replace(tzinfo=None),
                              **{**params, "batches": DELTA_BATCHES}, append=True))
    since = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    scope = {"SYNCGOV_DELTA_SINCE": since.isoformat(sep=" "),
             "SYNCGOV_DELTA_STARTED_AT": since.isoformat(sep=" "),
             "SYNCGOV_DELTA_JOBS": "bench"}
    run_dbt(["build", "--exclude", "tag:full_table"], project_dir=REPO,
            log_path=root / "logs/incremental-build.log", env={**env, **scope},
            target_dir=target)
    figures: dict[str, list[tuple[float, int, float]]] = {"every_cycle": [], "full": []}
    for n in range(repeat):
        for name, args, extra in (("every_cycle", ["test", "--exclude", "tag:full_table"], scope),
                                  ("full", ["test"], {})):
            began = time.monotonic()
            run_dbt(args, project_dir=REPO, log_path=root / f"logs/{name}-{n}.log",
                    env={**env, **extra}, target_dir=target, check=False)
            wall = time.monotonic() - began
            count, seconds = _test_seconds(target)
            figures[name].append((wall, count, seconds))
    out = {name: {"wall_s": statistics.median(w for w, _, _ in runs),
                  "tests": runs[0][1],
                  "test_seconds": statistics.median(s for _, _, s in runs)}
           for name, runs in figures.items()}
    out["events"] = events
    out["delta_batches"] = DELTA_BATCHES
    out["events_per_batch"] = EVENTS_PER_BATCH
    out["runs"] = repeat
    out["load_average"] = os.getloadavg()[0]
    path = REPO / "bench" / "results" / "test_cost.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
