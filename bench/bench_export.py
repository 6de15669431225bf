"""Time `syncgov export` — gate evaluation, manifests, drt and Census renderings and the audit
log — for N exports (a generated registry cloning the demo's three) over a warehouse of E
simulated events built by the real dbt. Median of R runs, peak RSS of the whole command.

Usage: python bench/bench_export.py [--exports 500] [--events 10000000] [--entities 200000]
                                    [--repeat 5] [--work DIR]
Builds the warehouse once in --work (a temp dir by default; reused when it is already built
there), then runs the export command R times. Writes nowhere else.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import yaml

from bench.measure import Figure, Sample, machine, measure
from governance.exports.publish import ExportOptions, run_exports

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SEED = "42"


def _env(warehouse: Path) -> dict[str, str]:
    return {"DBT_PROFILES_DIR": str(REPO), "SYNCGOV_WAREHOUSE": str(warehouse),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def build_warehouse(work: Path, events: int, entities: int) -> tuple[Path, Path]:
    """simulate (demo faults) -> dbt build -> dbt source freshness, unless already built."""
    warehouse, target = work / "syncgov.duckdb", work / "target"
    if (target / "sources.json").exists() and warehouse.exists():
        print(f"bench: reusing the warehouse in {work}", file=sys.stderr)
        return warehouse, target
    for stale in (warehouse, target):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    steps = [
        ("simulate", [str(BIN / "syncgov"), "simulate", "--warehouse", str(warehouse), "--seed",
                      SEED, "--now", now, "--events", str(events), "--entities", str(entities),
                      "--batches", "100", "--faults", "demo", "-q"], False),
        ("dbt build", [str(BIN / "dbt"), "build", "--project-dir", str(REPO), "--target-path",
                       str(target), "--log-path", str(work / "logs")], False),
        ("dbt source freshness", [str(BIN / "dbt"), "source", "freshness", "--project-dir",
                                  str(REPO), "--target-path", str(target), "--log-path",
                                  str(work / "logs")], True),
    ]
    for name, cmd, may_fail in steps:
        print(f"bench: {name} …", file=sys.stderr, flush=True)
        try:
            sample = measure(cmd, env=_env(warehouse), cwd=REPO)
            print(f"bench: {name} took {sample.seconds:.1f}s", file=sys.stderr)
        except RuntimeError:
            if not may_fail:  # freshness exits 1 on a stale source: a finding, not a failure
                raise
    return warehouse, target


def generate_registry(work: Path, n: int) -> Path:
    """The demo registry with N exports: the demo's three, cloned round-robin."""
    registry = work / f"registry-{n}"
    if registry.exists():
        shutil.rmtree(registry)
    shutil.copytree(REPO / "registry", registry)
    demo = yaml.safe_load((REPO / "registry" / "exports.yml").read_text())["exports"]
    names = list(demo)
    exports = {}
    for i in range(n):
        source = names[i % len(names)]
        exports[f"{source}_{i:04d}"] = demo[source]
    (registry / "exports.yml").write_text(yaml.safe_dump({"exports": exports}, sort_keys=False))
    return registry


def measure_exports(work: Path, *, exports: int, events: int, entities: int,
                    repeat: int) -> dict:
    """Build (or reuse) the warehouse in `work`, then time `syncgov export` over `exports`
    generated exports `repeat` times as a command and `repeat` times in-process."""
    work.mkdir(parents=True, exist_ok=True)
    warehouse, target = build_warehouse(work, events, entities)
    registry = generate_registry(work, exports)
    out = work / "exports"
    cmd = [str(BIN / "syncgov"), "export", "--project-dir", str(REPO), "--registry",
           str(registry), "--target-dir", str(target), "--warehouse", str(warehouse), "--out",
           str(out), "--render", "drt", "--render", "census", "--format", "json"]
    samples, load = [], []
    for i in range(repeat):
        load.append(os.getloadavg()[0])
        samples.append(run_export(cmd, work))
        print(f"bench: run {i + 1}: {samples[-1].seconds:.2f}s,"
              f" peak RSS {samples[-1].peak_rss_mib:.0f} MiB", file=sys.stderr)
    # the same work in-process, without interpreter start-up and imports
    options = ExportOptions(project_dir=REPO, registry_dir=registry, target_dir=target,
                            warehouse=warehouse, out_dir=out, render=("drt", "census"))
    in_process = []
    for _ in range(repeat):
        start = time.perf_counter()
        run_exports(options)
        in_process.append(time.perf_counter() - start)
    index = json.loads((out / "index.json").read_text())
    return {
        "exports": exports,
        "events": events,
        "entities": entities,
        "median_seconds": round(statistics.median(s.seconds for s in samples), 2),
        "min_seconds": round(min(s.seconds for s in samples), 2),
        "peak_rss_mib": round(max(s.peak_rss_mib for s in samples)),
        "in_process_median_seconds": round(statistics.median(in_process), 2),
        "runs": len(samples),
        "verdicts": index["summary"],
        "audit_log_rows": _count(warehouse),
        "load_average_1m": [round(x, 1) for x in load],
        "machine": machine(),
        "command": f"syncgov export --render drt --render census ({exports} exports)",
    }


def bench(repeat: int, work: Path) -> list[Figure]:
    """`make bench`'s export section (bench/run.py): 500 exports over 10M events."""
    result = measure_exports(work / "export", exports=500, events=10_000_000,
                             entities=200_000, repeat=repeat)
    size = f"{result['exports']} exports, {result['events'] // 1_000_000}M events"
    verdicts = ", ".join(f"{n} {v}" for v, n in sorted(result["verdicts"].items()) if n)
    command = "python -m bench.bench_export --exports 500 --events 10000000"
    return [
        Figure("export", size, "syncgov export: gates, 500 manifests, drt + Census renderings,"
               " audit log (whole command)", result["median_seconds"],
               result["peak_rss_mib"], result["runs"], command,
               f"verdicts: {verdicts}; Python start-up included"),
        Figure("export", size, "the same, in-process (run_exports)",
               result["in_process_median_seconds"], result["peak_rss_mib"], result["runs"],
               command, "without interpreter start-up and imports"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exports", type=int, default=500)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--entities", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-export-"))
    print(json.dumps(measure_exports(work, exports=args.exports, events=args.events,
                                     entities=args.entities, repeat=args.repeat), indent=2))


def run_export(cmd: list[str], cwd: Path) -> Sample:
    """Like `measure`, but exit 1 (some export blocked) is a normal outcome of the command."""
    start = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-f", "MAXRSS=%M", *cmd], cwd=cwd,
                          capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-3000:]}")
    match = re.search(r"MAXRSS=(\d+)", proc.stderr)
    return Sample(seconds, int(match.group(1)) / 1024 if match else float("nan"))


def _count(warehouse: Path) -> int:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("select count(*) from audit.sync_export_log").fetchone()[0]
    finally:
        con.close()


if __name__ == "__main__":
    main()
