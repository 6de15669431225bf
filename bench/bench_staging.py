"""Staging, batch-driven (issue 12) against time-window (the design before it), side by side.

Both designs apply the same delta — two more batches per landing table, the same number of
events at both sizes — with an incremental `dbt run --select staging state`, on the same
simulated landing zone (no faults, so both stage every row). The new design is this project;
the previous one is a copy of it with the vendored time-window macro and staging config of
bench/previous_design/ and without stg__staged_batches. Per design and size: one full build,
then per repetition a copy of it under a stable file name, the append, and the measured run
(wall and CPU seconds of dbt and its children, the 1-minute load average at its start, the
per-node times from run_results.json). Medians of BENCH_REPEAT (default 3); sizes scale with
BENCH_SCALE like the rest of `make bench`.

`python -m bench.bench_staging [--work DIR]` runs it alone: it prints the table, writes
bench/results/staging.json and replaces only this section (and its targets) in BENCHMARKS.md.
With --work the warehouses are kept there (to EXPLAIN ANALYZE the compiled SQL afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import yaml

from bench import run
from bench.measure import Figure, load_average, measure
from governance.catalogue import landing_table_entries

PREVIOUS = run.REPO / "bench" / "previous_design"
PROJECT_PARTS = ("dbt_project.yml", "macros", "models", "seeds", "tests/dbt")
# The initial simulate has 20 batches at the smaller size and 200 at the larger (10x the events),
# so a batch holds the same events at both and the two appended batches are the same delta.
INITIAL_BATCHES = 20
DELTA_BATCHES = 2
FAULTS = "none"
NEW, OLD = "batch-driven (new)", "time-window (previous)"
DESIGNS = (NEW, OLD)
SELECT = ("--select", "staging", "state")


@dataclass(frozen=True)
class Size:
    """One warehouse size: the initial landing zone and the append applied to it."""

    events: int
    batches: int

    @property
    def entities(self) -> int:
        return max(2000, self.events // 50)

    @property
    def label(self) -> str:
        return run._label(self.events)

    @property
    def events_per_batch(self) -> float:
        return self.events / self.batches

    def simulate_args(self, warehouse: Path) -> list[str]:
        return ["simulate", "--warehouse", str(warehouse), "--seed", run.SEED, "--now", run.NOW,
                "--events", str(self.events), "--entities", str(self.entities),
                "--batches", str(self.batches), "--faults", FAULTS, "-q"]

    @staticmethod
    def append_args(warehouse: Path) -> list[str]:
        return ["simulate", "--warehouse", str(warehouse), "--append", "--batches",
                str(DELTA_BATCHES), "--now", run.APPEND_AT, "--faults", FAULTS, "-q"]


def sizes(scale: float) -> list[Size]:
    """1M and 10M events at scale 1, with 10x the batches at the larger size (equal deltas)."""
    small = int(1_000_000 * scale)
    return [Size(small, INITIAL_BATCHES), Size(10 * small, 10 * INITIAL_BATCHES)]


def _copy_project(dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    for part in PROJECT_PARTS:
        src, out = run.REPO / part, dest / part
        out.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, out, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, out)
    return dest


def new_project(dest: Path) -> Path:
    """This project's dbt files, copied so both designs run from the same kind of place."""
    return _copy_project(dest)


def previous_project(dest: Path) -> Path:
    """A copy of the project with the time-window staging of before issue 12 (vendored)."""
    _copy_project(dest)
    shutil.copy(PREVIOUS / "stage_events.sql", dest / "macros" / "stage_events.sql")
    (dest / "models" / "staging" / "stg__staged_batches.sql").unlink()
    # today's dispositions read the batch progress; the previous ones parse without it
    shutil.copy(PREVIOUS / "sync_event_dispositions.sql",
                dest / "models" / "control" / "sync_event_dispositions.sql")
    models_yml = dest / "models" / "staging" / "_staging__models.yml"
    spec = yaml.safe_load(models_yml.read_text())
    spec["models"] = [m for m in spec["models"] if m["name"] != "stg__staged_batches"]
    models_yml.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    old = yaml.safe_load((PREVIOUS / "staging_config.yml").read_text())
    project_yml = dest / "dbt_project.yml"
    project = yaml.safe_load(project_yml.read_text())
    project["vars"].update(old["vars"])
    staging = project["models"]["syncgov"]["staging"]
    for key, value in old["staging"].items():
        if value is None:
            staging.pop(key, None)
        else:
            staging[key] = value
    project_yml.write_text(yaml.safe_dump(project, sort_keys=False, allow_unicode=True))
    return dest


@dataclass(frozen=True)
class Measured:
    """The medians of one design at one size."""

    design: str
    size: Size
    delta_events: int
    staged_events: int  # rows the measured run added to staging (no faults: the whole delta)
    wall: float
    cpu: float
    load: float
    peak_rss_mib: float
    runs: int
    nodes: dict[str, float]  # median execution time per node
    model_seconds: float  # median of dbt's elapsed_time (node execution, without start-up)


def _nodes(target: Path) -> dict[str, float]:
    return {r["unique_id"].rsplit(".", 1)[-1]: float(r["execution_time"])
            for r in run._run_results(target)["results"]}


def landing_tables() -> list[str]:
    """The landing tables staging reads (the project's catalogue)."""
    return [f"{t['system']}__{t['entity']}" for t in landing_table_entries(run.REPO)]


def landed_rows(warehouse: Path, schema: str = "landing", prefix: str = "") -> int:
    """Rows in every landing table staging reads (or, with staging/stg_, in their models)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return sum(con.execute(f"select count(*) from {schema}.{prefix}{t}").fetchone()[0]
                   for t in landing_tables())
    finally:
        con.close()


def staged_rows(warehouse: Path) -> int:
    return landed_rows(warehouse, "staging", "stg_")


def measure_design(design: str, project: Path, size: Size, landing: Path, work: Path,
                   repeat: int) -> Measured:
    """Full build once, then `repeat` times: stable-named copy, append, measured incremental run."""
    syncgov, dbt = str(run.BIN / "syncgov"), str(run.BIN / "dbt")
    slug = "new" if design == NEW else "old"
    home = work / f"{slug}-{size.events}"
    home.mkdir(parents=True, exist_ok=True)
    # the same file name for the build and every repetition: DuckDB names the catalog after
    # the file stem, and dbt's partial parse is only reused when the profile is unchanged
    warehouse, base, target = home / "syncgov.duckdb", home / "built.duckdb", home / "target"
    env = run._dbt_env(warehouse, target)
    shutil.copy(landing, warehouse)
    measure([dbt, "seed", "--project-dir", str(project)], env=env, cwd=project)
    measure([dbt, "run", *SELECT, "--project-dir", str(project)], env=env, cwd=project)
    shutil.copy(warehouse, base)
    before, staged_before = landed_rows(base), staged_rows(base)
    samples, loads, elapsed, nodes = [], [], [], []
    delta = staged = 0
    for _ in range(repeat):
        shutil.copy(base, warehouse)
        measure([syncgov, *Size.append_args(warehouse)])
        delta = landed_rows(warehouse) - before
        loads.append(load_average())
        samples.append(measure([dbt, "run", *SELECT, "--project-dir", str(project)],
                               env=env, cwd=project))
        elapsed.append(run._elapsed(target))
        nodes.append(_nodes(target))
        staged = staged_rows(warehouse) - staged_before
    warehouse.unlink()
    names = set().union(*nodes)
    return Measured(
        design=design, size=size, delta_events=delta, staged_events=staged,
        wall=statistics.median(s.seconds for s in samples),
        cpu=statistics.median(s.cpu_seconds for s in samples),
        load=statistics.median(loads),
        peak_rss_mib=max(s.peak_rss_mib for s in samples),
        runs=repeat,
        nodes={n: statistics.median(x.get(n, 0.0) for x in nodes) for n in sorted(names)},
        model_seconds=statistics.median(elapsed),
    )


def _staging_seconds(nodes: dict[str, float]) -> float:
    return sum(v for k, v in nodes.items() if k.startswith("stg_"))


def to_figures(results: list[Measured]) -> list[Figure]:
    figures = []
    for m in results:
        batches = m.nodes.get("stg__staged_batches")
        busiest = max((k for k in m.nodes if k.startswith("stg_") and k != "stg__staged_batches"),
                      key=lambda k: m.nodes[k])
        progress = f", of which stg__staged_batches {batches:.2f} s" if batches is not None else ""
        note = (f"delta {m.delta_events:,} events ({DELTA_BATCHES} more batches per table,"
                f" {m.size.events_per_batch:,.0f} events a round), {m.staged_events:,} staged;"
                f" staging nodes {_staging_seconds(m.nodes):.2f} s"
                f"{progress}; busiest {busiest} {m.nodes[busiest]:.2f} s; model execution"
                f" {m.model_seconds:.2f} s (4 threads, node times overlap)")
        command = ("dbt run --select staging state" if m.design == NEW else
                   "dbt run --select staging state --project-dir PREVIOUS_COPY")
        figures.append(Figure("staging", m.size.label, m.design, m.wall, m.peak_rss_mib, m.runs,
                              command, note, cpu_seconds=m.cpu, load_average=m.load))
    return figures


def bench(repeat: int, work: Path, scale: float | None = None) -> list[Figure]:
    """The hook `make bench` (bench/run.py) calls; the figures of the staging section."""
    results = measure_all(repeat, work, scale)
    (run.RESULTS).mkdir(parents=True, exist_ok=True)
    (run.RESULTS / "staging.json").write_text(json.dumps(
        [{"design": m.design, "events": m.size.events, "batches": m.size.batches,
          "delta_events": m.delta_events,
          "staged_events": m.staged_events, "wall": m.wall, "cpu": m.cpu, "load": m.load,
          "peak_rss_mib": m.peak_rss_mib, "runs": m.runs, "model_seconds": m.model_seconds,
          "nodes": m.nodes} for m in results], indent=2))
    return to_figures(results)


def _step(message: str) -> None:
    print(f"bench staging [{datetime.now(UTC):%H:%M:%S}]: {message}", file=sys.stderr, flush=True)


def measure_all(repeat: int, work: Path, scale: float | None = None) -> list[Measured]:
    scale = float(os.environ.get("BENCH_SCALE", "1")) if scale is None else scale
    projects = {NEW: new_project(work / "project-new"), OLD: previous_project(work / "project-old")}
    results = []
    for size in sizes(scale):
        landing = work / f"landing-{size.events}.duckdb"
        _step(f"simulate {size.events:,} events in {size.batches} batches")
        measure([str(run.BIN / "syncgov"), *size.simulate_args(landing)])
        for design in DESIGNS:
            _step(f"{design}: build {size.label}, then {repeat} x append + incremental run")
            m = measure_design(design, projects[design], size, landing, work, repeat)
            _step(f"{design} at {size.label}: cpu {m.cpu:.2f} s, wall {m.wall:.2f} s,"
                  f" load {m.load:.2f}, delta {m.delta_events:,}")
            results.append(m)
        landing.unlink()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, help="keep the warehouses here (default: a temp dir)")
    args = parser.parse_args()
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))
    scale = float(os.environ.get("BENCH_SCALE", "1"))
    started, load_start = time.monotonic(), load_average()
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
        figures = bench(repeat, args.work, scale)
    else:
        with tempfile.TemporaryDirectory(prefix="syncgov-bench-staging-") as tmp:
            figures = bench(repeat, Path(tmp), scale)
    minutes = (time.monotonic() - started) / 60
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    note = (f"Staging section: `python -m bench.bench_staging` at {stamp}, {minutes:.1f} min"
            f" (BENCH_SCALE={scale:g}, BENCH_REPEAT={repeat}); 1-minute load average"
            f" {load_start:.2f} at its start and {load_average():.2f} at its end.")
    run.replace_section(figures, run.REPO / "BENCHMARKS.md", "staging", note)
    print(run.render(figures, note))


if __name__ == "__main__":
    main()
