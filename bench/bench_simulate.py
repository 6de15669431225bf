"""The simulator's peak memory, wall and CPU time per size (issue 18): flat in the number of events.

`syncgov simulate` streams its events in chunks, so its peak RSS is DuckDB's memory_limit (which
DuckDB fills with the blocks it wrote) plus the process, at any size; before the change it grew
by about 300 MiB per million events (3.2 GiB at 10M). Per size: BENCH_REPEAT runs of the command
the apply benchmark builds its warehouse with (demo faults, 100 batches), each into a new file;
the median wall, the median CPU (user + system), the highest peak RSS, the 1-minute load average
at the start of the first run, and the growth of the peak per million events between the
smallest and the largest size.

`python -m bench.bench_simulate [MILLIONS,...]` runs it alone (default: BENCH_SIZES, else 1,3)
and prints the table; `make bench` runs it as its `simulate` section.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench.measure import Figure, load_average, measure

BIN = Path(sys.executable).parent
NOW = "2026-11-24T12:00:00Z"
SEED = "42"
STEP = "syncgov simulate (11 tables, 100 batches, demo faults)"


def command(events: int, warehouse: Path) -> list[str]:
    entities = max(2000, events // 50)
    return [str(BIN / "syncgov"), "simulate", "--warehouse", str(warehouse), "--replace",
            "--seed", SEED, "--now", NOW, "--events", str(events), "--entities", str(entities),
            "--batches", "100", "--faults", "demo", "-q"]


def _label(events: int) -> str:
    return f"{events / 1e6:g}M events"


def bench(repeat: int, work: Path, sizes: list[int]) -> list[Figure]:
    """One figure per size; the largest carries the growth of the peak against the smallest."""
    figures: list[Figure] = []
    for events in sorted(sizes):
        load = load_average()
        samples = []
        for rep in range(repeat):
            warehouse = work / f"simulate-{events}-{rep}.duckdb"
            samples.append(measure(command(events, warehouse)))
            warehouse.unlink(missing_ok=True)
        cpu = statistics.median(s.cpu_seconds for s in samples)
        peak = max(s.peak_rss_mib for s in samples)
        note = f"CPU {cpu:.1f} s, load {load:.1f} at the start"
        if figures:
            first = figures[0]
            slope = (peak - first.peak_rss_mib) / ((events - _events(first.size)) / 1e6)
            note += f"; peak {slope:+.1f} MiB per 1M events against {first.size}"
        shown = command(events, Path("WAREHOUSE"))
        figures.append(Figure(
            "simulate", _label(events), STEP, statistics.median(s.seconds for s in samples),
            peak, repeat, " ".join(["syncgov", *shown[1:]]), note, cpu_seconds=cpu,
            load_average=load))
    return figures


def _events(label: str) -> float:
    return float(label.split("M", maxsplit=1)[0]) * 1e6


def slope_mib_per_million(figures: list[Figure]) -> float | None:
    """Growth of the simulator's peak RSS per million events, smallest size to largest."""
    rows = sorted((f for f in figures if f.benchmark == "simulate"), key=lambda f: _events(f.size))
    if len(rows) < 2:
        return None
    return (rows[-1].peak_rss_mib - rows[0].peak_rss_mib) / ((_events(rows[-1].size)
                                                             - _events(rows[0].size)) / 1e6)


def main() -> None:
    listed = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_SIZES", "1,3")
    sizes = [int(float(x) * 1_000_000) for x in listed.split(",")]
    repeat = int(os.environ.get("BENCH_REPEAT", "1"))
    with tempfile.TemporaryDirectory(prefix="syncgov-bench-simulate-") as tmp:
        figures = bench(repeat, Path(tmp), sizes)
    from bench.run import _table  # noqa: PLC0415 - run imports this module

    print(_table(figures))
    slope = slope_mib_per_million(figures)
    if slope is not None:
        print(f"\npeak RSS grows {slope:+.1f} MiB per 1M events")


if __name__ == "__main__":
    main()
