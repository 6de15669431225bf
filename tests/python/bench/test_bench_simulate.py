"""The simulator benchmark (issue 18): a figure per size, and the target judged on its slope."""

from __future__ import annotations

from pathlib import Path

from bench import bench_simulate, run
from bench.measure import Figure


def _figure(size: str, peak: float) -> Figure:
    return Figure("simulate", size, bench_simulate.STEP, 10.0, peak, 1, "syncgov simulate")


def _simulator_target(figures: list[Figure]) -> tuple[str, str, str]:
    return next(row for row in run.targets(figures) if row[0].startswith("simulator's peak"))


def test_flat_memory_under_the_dbt_cap_is_met() -> None:
    aim, measured, verdict = _simulator_target([_figure("1M events", 600.0),
                                                _figure("10M events", 690.0)])
    assert "at 10M events at most 1.25x the peak at 1M events" in aim
    assert measured == "1.15x (+10 MiB per 1M events); highest 690 MiB"
    assert verdict == "met"


def test_memory_that_grows_with_the_events_is_missed() -> None:
    # main before issue 18: about 300 MiB more per million events
    _, measured, verdict = _simulator_target([_figure("1M events", 660.0),
                                              _figure("3M events", 1250.0)])
    assert measured.startswith("1.89x (+295 MiB per 1M events)")
    assert verdict == "missed, see below"


def test_flat_but_above_the_cap_is_missed() -> None:
    _, _, verdict = _simulator_target([_figure("1M events", 2100.0),
                                       _figure("3M events", 2110.0)])
    assert verdict == "missed, see below"


def test_the_ratio_not_the_slope_is_judged_at_small_sizes() -> None:
    # 9 MiB more from 10k to 20k events is 900 MiB "per million", and still flat
    _, measured, verdict = _simulator_target([_figure("0.01M events", 166.0),
                                              _figure("0.02M events", 175.0)])
    assert measured.startswith("1.05x")
    assert verdict == "met"


def test_one_size_gives_no_slope() -> None:
    assert bench_simulate.slope_mib_per_million([_figure("1M events", 600.0)]) is None
    assert not [r for r in run.targets([_figure("1M events", 600.0)])
                if r[0].startswith("simulator's peak")]


def test_the_benchmark_runs_the_cli_once_per_size_and_repetition(tmp_path: Path) -> None:
    figures = bench_simulate.bench(1, tmp_path, [4000, 2000])
    assert [f.size for f in figures] == ["0.002M events", "0.004M events"]
    assert all(f.peak_rss_mib > 50 and f.cpu_seconds and f.cpu_seconds > 0 for f in figures)
    assert "MiB per 1M events against 0.002M events" in figures[1].note
    assert "--events 4000" in figures[1].command
    assert not list(tmp_path.glob("*.duckdb"))  # each run's warehouse is removed
    rendered = run.render(figures, "header")
    assert "### Simulator memory per size" in rendered
