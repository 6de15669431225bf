"""The fixed-delta scaling curve: incremental `dbt build` CPU and wall while the warehouse grows.

Per size (BENCH_SIZES, millions of events, default 1,3,10,20; BENCH_DELTA_SIZES is still read
when BENCH_SIZES is not set): simulate the landing zone
with the demo faults and batches of a fixed size (EVENTS_PER_BATCH), so the append of
DELTA_BATCHES is the same delta at every size; `dbt seed` and one full `dbt build`. Then per
repetition: a copy of that warehouse under one stable file name (so dbt's partial parsing holds
and no repetition pays a re-parse), the append (with the base's source extracts put back:
a cycle between two extracts; BENCH_EXTRACTS=new keeps the appended ones, so every table's
drift is compared again), and the measured incremental build (CPU of dbt
and its children, wall, the 1-minute load average at its start, the slowest nodes from
run_results.json). The incremental build is the one an operating cycle runs (`syncgov run`):
`dbt build` with the cycle's exclusions (`DELTA_CYCLE_EXCLUDES`: the full_table tests and the
unit tests, left to the nightly job) and its tests scoped to the delta (`SYNCGOV_DELTA_SINCE`
set to just before the build, the point a clean previous cycle leaves). Once per size, the
same append built by a plain `dbt build` (every test, unscoped: what the scoping saves), and
`dbt build --full-refresh` of the same appended warehouse, the full build the incremental one
is compared with. The simulation's own wall and peak RSS are
kept too (issue 18: flat in the size). Medians of BENCH_REPEAT (default 3).

`python -m bench.bench_delta` prints the scaling table, writes bench/results/delta.json and
rewrites the chart BENCHMARKS.md shows, bench/delta.svg; `make bench` does not run it (it takes
about an hour at 20M). `--render bench/results/delta.json` redraws both from a saved run.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import run
from bench.measure import load_average, machine, measure
from governance.operate.delta_scope import CycleScope

EVENTS_PER_BATCH = 50_000
DELTA_BATCHES = 2
FAULTS = "demo"
TOP_NODES = 8
SIZES = "1,3,10,20"
CHART = run.REPO / "bench" / "delta.svg"


def sizes_from_env(env: dict[str, str] | None = None) -> list[int]:
    """The sizes to measure, in events: BENCH_SIZES (or BENCH_DELTA_SIZES), millions, commas."""
    env = dict(os.environ) if env is None else env
    listed = env.get("BENCH_SIZES") or env.get("BENCH_DELTA_SIZES") or SIZES
    return [int(float(s) * 1_000_000) for s in listed.split(",") if s.strip()]


@dataclass
class Point:
    events: int
    runs: int
    incremental_cpu: float
    incremental_wall: float
    full_cpu: float
    full_wall: float
    delta_events: int
    load_averages: list[float] = field(default_factory=list)
    full_load_average: float = 0.0
    slowest_nodes: dict[str, float] = field(default_factory=dict)
    # the initial `syncgov simulate` of this size (absent from runs before issue 18's change)
    simulate_wall: float | None = None
    simulate_peak_rss_mib: float | None = None
    # the same append built by a plain `dbt build` (every test, unscoped; absent before)
    plain_cpu: float | None = None
    plain_wall: float | None = None


def _node_times(target: Path) -> dict[str, float]:
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".", 2)[-1]: r["execution_time"] for r in results}


def _landed(warehouse: Path) -> int:
    import duckdb  # noqa: PLC0415 - only for the count

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'landing'"
            " and table_name not like '\\_%' escape '\\' and table_name <> 'sync_batches'"
            # the extracts are snapshots of the sources, not landed events
            " and table_name not like '%\\_\\_extract' escape '\\'"
        ).fetchall()]
        return sum(con.execute(f"select count(*) from landing.{t}").fetchone()[0] for t in tables)
    finally:
        con.close()


def _keep_extracts(warehouse: Path, base: Path) -> None:
    """Put the base's source extracts back after an append: the simulator writes a new extract
    of every table with each append, but sources extract daily or hourly while a cycle runs
    every few minutes, so the cycle measured is one between two extracts (drift is compared
    when an extract arrives; BENCH_EXTRACTS=new measures a cycle that receives new ones)."""
    import duckdb  # noqa: PLC0415 - only for the copy

    con = duckdb.connect(str(warehouse))
    try:
        con.execute(f"attach '{base}' as base (read_only)")
        extracts = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_catalog = 'base'"
            " and table_schema = 'landing' and table_name like '%\\_\\_extract' escape '\\'"
        ).fetchall()]
        for name in extracts:
            con.execute(f"create or replace table landing.{name} as select * from base.landing.{name}")
        con.execute("detach base")
    finally:
        con.close()


def bench_size(events: int, repeat: int, work: Path) -> Point:
    stable = work / "stable" / "syncgov.duckdb"  # one path: one profile, partial parsing holds
    stable.parent.mkdir(parents=True, exist_ok=True)
    target = work / "target"
    base = work / f"base-{events}.duckdb"
    env = run._dbt_env(stable, target)
    dbt = [str(run.BIN / "dbt")]
    new_extracts = os.environ.get("BENCH_EXTRACTS", "keep") == "new"
    batches = max(2, events // EVENTS_PER_BATCH)
    entities = max(2000, events // 50)
    stable.unlink(missing_ok=True)
    simulated = measure([
        str(run.BIN / "syncgov"), "simulate", "--warehouse", str(stable), "--seed", run.SEED,
        "--now", run.NOW, "--events", str(events), "--entities", str(entities),
        "--batches", str(batches), "--faults", FAULTS, "-q"])
    measure([*dbt, "seed", "--project-dir", str(run.REPO)], env=env, cwd=run.REPO)
    measure([*dbt, "build", "--project-dir", str(run.REPO)], env=env, cwd=run.REPO)
    shutil.copy(stable, base)
    before = _landed(base)
    cpu, wall, loads, nodes = [], [], [], []
    delta = 0

    def append() -> int:
        shutil.copy(base, stable)
        measure([str(run.BIN / "syncgov"), "simulate", "--warehouse", str(stable), "--append",
                 "--batches", str(DELTA_BATCHES), "--now", run.APPEND_AT, "--faults", FAULTS, "-q"])
        if not new_extracts:
            _keep_extracts(stable, base)
        return _landed(stable) - before

    for _ in range(repeat):
        delta = append()
        loads.append(load_average())
        # the scope point: every row staged from here on is the delta (a clean previous cycle
        # began before the append landed; nothing was staged in between)
        point = (datetime.now(UTC) - timedelta(seconds=1)).replace(tzinfo=None)
        scope = CycleScope(point, point, ("bench_delta",))
        sample = measure([*dbt, "build", *scope.build_args(), "--project-dir", str(run.REPO)],
                         env={**env, **scope.env()}, cwd=run.REPO)
        cpu.append(sample.cpu_seconds)
        wall.append(sample.seconds)
        nodes.append(_node_times(target))
    # the same append built with every test over its whole table, once
    append()
    plain = measure([*dbt, "build", "--project-dir", str(run.REPO)], env=env, cwd=run.REPO)
    # the full build of the same appended warehouse (the last repetition's)
    full_load = load_average()
    full = measure([*dbt, "build", "--full-refresh", "--project-dir", str(run.REPO)],
                   env=env, cwd=run.REPO)
    median_nodes = {k: statistics.median(n.get(k, 0.0) for n in nodes) for k in nodes[0]}
    slowest = dict(sorted(median_nodes.items(), key=lambda kv: -kv[1])[:TOP_NODES])
    base.unlink(missing_ok=True)
    return Point(events, repeat, statistics.median(cpu), statistics.median(wall), full.cpu_seconds,
                 full.seconds, delta, loads, full_load, slowest, simulated.seconds,
                 simulated.peak_rss_mib, plain.cpu_seconds, plain.seconds)


def table(points: list[Point]) -> str:
    first = points[0]
    rows = ["| events | delta rows | cycle build CPU s | wall s | vs 1st size (CPU) |"
            " full build CPU s | cycle / full (CPU) | plain incremental `dbt build` CPU s |"
            " load avg at start | runs | simulate wall s | simulate peak RSS MiB |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in points:
        rows.append(
            f"| {run._label(p.events)} | {p.delta_events:,} | {p.incremental_cpu:.1f} |"
            f" {p.incremental_wall:.1f} | {p.incremental_cpu / first.incremental_cpu:.2f}x |"
            f" {p.full_cpu:.1f} | {p.incremental_cpu / p.full_cpu:.2f}x |"
            f" {_maybe(p.plain_cpu, '.1f')} |"
            f" {', '.join(f'{x:.1f}' for x in p.load_averages)} (full: {p.full_load_average:.1f}) |"
            f" {p.runs} | {_maybe(p.simulate_wall, '.1f')} |"
            f" {_maybe(p.simulate_peak_rss_mib, ',.0f')} |")
    return "\n".join(rows)


def _maybe(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def svg(points: list[Point]) -> str:
    """A small line chart: incremental and full build CPU seconds against events."""
    w, h, pad = 420, 220, 40
    xs = [p.events for p in points]
    ymax = max(*(p.full_cpu for p in points), 1.0)
    xmax = max(xs)

    def pt(x: float, y: float) -> str:
        return f"{pad + (w - 2 * pad) * x / xmax:.1f},{h - pad - (h - 2 * pad) * y / ymax:.1f}"

    inc = " ".join(pt(p.events, p.incremental_cpu) for p in points)
    full = " ".join(pt(p.events, p.full_cpu) for p in points)
    labels = "".join(
        f'<text x="{pt(p.events, 0).split(",")[0]}" y="{h - pad + 15}" font-size="10"'
        f' text-anchor="middle">{run._label(p.events).split()[0]}</text>' for p in points)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif">'
        f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#888"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="#888"/>'
        f'<text x="{pad}" y="{pad - 10}" font-size="10">CPU s (max {ymax:.0f})</text>'
        f'<polyline fill="none" stroke="#c33" stroke-width="2" points="{full}"/>'
        f'<polyline fill="none" stroke="#36c" stroke-width="2" points="{inc}"/>'
        f'<text x="{w - pad}" y="{pad}" font-size="10" fill="#c33" text-anchor="end">full build</text>'
        f'<text x="{w - pad}" y="{pad + 12}" font-size="10" fill="#36c" text-anchor="end">'
        f'cycle build, fixed delta</text>{labels}</svg>\n')


def main() -> None:
    sizes = sizes_from_env()
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))
    points: list[Point] = []
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="syncgov-delta-") as tmp:
        for events in sizes:
            print(f"bench_delta [{datetime.now(UTC):%H:%M:%S}]: {events:,} events", file=sys.stderr,
                  flush=True)
            points.append(bench_size(events, repeat, Path(tmp)))
            out = {"started": started.isoformat(), "machine": machine(),
                   "points": [asdict(p) for p in points]}
            run.RESULTS.mkdir(parents=True, exist_ok=True)
            (run.RESULTS / "delta.json").write_text(json.dumps(out, indent=2))
    CHART.write_text(svg(points))
    print(table(points))


def render(path: Path) -> None:
    """Print the table and write the chart from a saved delta.json (`--render FILE`)."""
    points = [Point(**p) for p in json.loads(path.read_text())["points"]]
    CHART.write_text(svg(points))
    print(table(points))
    for p in points:
        print(f"{run._label(p.events)} slowest nodes (median s):",
              ", ".join(f"{k} {v:.2f}" for k, v in p.slowest_nodes.items()))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--render"]:
        render(Path(sys.argv[2]))
    else:
        main()
