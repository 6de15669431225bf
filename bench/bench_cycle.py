"""The fixed cost of an operating cycle: `syncgov run` as a scheduler calls it (a dbt process per
command) against `syncgov run --loop` (dbt in-process on a manifest parsed once).

Fixed cost = what a cycle pays whatever it builds: dbt's start, parse and adapter set-up for
its two invocations (freshness, build) plus syncgov's own steps. It is measured with
invocations that select nothing (`--select tag:bench_nothing`), so no model work is in it;
the reference is a cold `dbt run` of one small model. Median of N runs on a small simulated
warehouse, written into a temp dir only.

Usage: python -m bench.bench_cycle [--json] [N]   (default N=5)
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from governance.dbt_invoke import run_dbt
from governance.operate.loop import InProcessDbt
from governance.simulate import SimulationParams, simulate

REPO = Path(__file__).resolve().parents[1]
NOTHING = ["--select", "tag:bench_nothing"]
SMALL_MODEL = "stg_erp__invoices"


def _median(times: list[float]) -> float:
    return round(statistics.median(times), 3)


def measure(repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-cycle-") as tmp:
        root = Path(tmp)
        warehouse = root / "syncgov.duckdb"
        simulate(SimulationParams(warehouse=warehouse, seed=42, now=datetime.now(UTC),
                                  events=2000, entities=100, batches=2))
        env = {"SYNCGOV_WAREHOUSE": str(warehouse)}
        target = root / "target"
        run_dbt(["build"], project_dir=REPO, log_path=root / "logs" / "build.log", env=env,
                target_dir=target)  # the warehouse, and a partial parse for the cold runs

        def cold(args: list[str]) -> float:
            started = time.monotonic()
            run_dbt(args, project_dir=REPO, log_path=root / "logs" / "cold.log", env=env,
                    target_dir=target, check=False)
            return time.monotonic() - started

        cold_run = [cold(["run", "--select", SMALL_MODEL]) for _ in range(repeat)]
        cli_fixed = [cold(["source", "freshness", *NOTHING]) + cold(["build", *NOTHING])
                     for _ in range(repeat)]

        os.environ.update({"DBT_PROFILES_DIR": str(REPO), **env})
        loop = InProcessDbt(REPO, warehouse, root / "loop-parse")
        started = time.monotonic()
        loop(["build", *NOTHING], root / "loop" / "first", root / "loop" / "first.log")
        first = time.monotonic() - started

        def warm(i: int) -> float:
            started = time.monotonic()
            loop(["source", "freshness", *NOTHING], root / "loop" / str(i), root / "l.log")
            loop(["build", *NOTHING], root / "loop" / str(i), root / "l.log")
            return time.monotonic() - started

        loop_fixed = [warm(i) for i in range(repeat)]
        return {
            "cold_dbt_run_one_model_s": _median(cold_run),
            "cli_cycle_fixed_s": _median(cli_fixed),
            "loop_first_invocation_with_parse_s": round(first, 3),
            "loop_cycle_fixed_s": _median(loop_fixed),
            "loop_parses": loop.parses,
            "loop_fixed_over_cold_run": round(_median(loop_fixed) / _median(cold_run), 3),
            "repeat": repeat,
        }


def main(argv: list[str]) -> None:
    as_json = "--json" in argv
    numbers = [a for a in argv if a.isdigit()]
    result = measure(int(numbers[0]) if numbers else 5)
    if as_json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:<40} {value}")


if __name__ == "__main__":
    main(sys.argv[1:])
