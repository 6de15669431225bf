"""The staging benchmark's harness: the previous design is the vendored time-window code and
nothing of the new one, both sizes get the same delta, and the section is rendered and merged
into BENCHMARKS.md without touching the rest."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from bench import bench_staging, run
from bench.measure import Figure
from governance.catalogue import CATALOGUE_MACRO
from governance.cli import main

PREVIOUS_COMMIT = "d9589e15bbbdaa3a1a9efa66cbd97bc9f40e17f7"


def _without_header(macro: str) -> str:
    """The vendored macro without the header that says where it comes from."""
    return macro[macro.index("-#}\n") + len("-#}\n"):]


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bench_staging.previous_project(tmp_path_factory.mktemp("old") / "project")


def test_previous_design_runs_the_time_window_macro(previous: Path) -> None:
    vendored = (previous / "macros" / "stage_events.sql").read_text()
    assert vendored == (bench_staging.PREVIOUS / "stage_events.sql").read_text()
    macro = _without_header(vendored)
    assert "var('sync_lookback_minutes')" in macro
    assert "_payload_hash" not in macro
    assert "staged_batches" not in macro
    project = yaml.safe_load((previous / "dbt_project.yml").read_text())
    staging = project["models"]["syncgov"]["staging"]
    assert staging["+incremental_strategy"] == "append"
    assert "+unique_key" not in staging
    assert project["vars"]["sync_lookback_minutes"] == 15
    # the rest of the project is the current one
    assert (previous / CATALOGUE_MACRO).read_text() == (run.REPO / CATALOGUE_MACRO).read_text()


def test_previous_design_has_no_batch_progress_model(previous: Path) -> None:
    assert not (previous / "models" / "staging" / "stg__staged_batches.sql").exists()
    found = subprocess.run(["grep", "-rl", "staged_batches", str(previous / "models"),
                            str(previous / "macros")], capture_output=True, text=True, check=False)
    # only the vendored macro's header names it, to say it was removed
    assert found.stdout.split() == [str(previous / "macros" / "stage_events.sql")]
    assert (run.REPO / "models" / "staging" / "stg__staged_batches.sql").exists()  # untouched


def test_new_design_is_the_project_as_it_is(tmp_path: Path) -> None:
    new = bench_staging.new_project(tmp_path / "new")
    for part in ("macros/stage_events.sql", "models/staging/stg__staged_batches.sql",
                 "dbt_project.yml"):
        assert (new / part).read_text() == (run.REPO / part).read_text()


def test_vendored_macro_is_the_one_of_the_previous_commit() -> None:
    shown = subprocess.run(["git", "show", f"{PREVIOUS_COMMIT}:macros/stage_events.sql"],
                           cwd=run.REPO, capture_output=True, text=True, check=False)
    if shown.returncode != 0:
        pytest.skip("history without the previous commit (shallow clone)")
    vendored = (bench_staging.PREVIOUS / "stage_events.sql").read_text()
    assert _without_header(vendored) == shown.stdout


def test_sizes_have_equal_batches_and_scale() -> None:
    small, large = bench_staging.sizes(1)
    assert (small.events, large.events) == (1_000_000, 10_000_000)
    assert small.events_per_batch == large.events_per_batch == 50_000
    assert [s.events for s in bench_staging.sizes(10)] == [10_000_000, 100_000_000]


def test_the_delta_is_the_same_at_both_sizes(tmp_path: Path) -> None:
    deltas = []
    for size in bench_staging.sizes(0.002):  # 2,000 and 20,000 events
        wh = tmp_path / f"{size.events}.duckdb"
        main.main(args=size.simulate_args(wh), standalone_mode=False)  # the benchmark's own args
        before = bench_staging.landed_rows(wh)
        assert before == pytest.approx(size.events, rel=0.02)
        main.main(args=size.append_args(wh), standalone_mode=False)
        deltas.append(bench_staging.landed_rows(wh) - before)
    assert deltas[0] == deltas[1] == pytest.approx(200, rel=0.05)


STAGING = [
    Figure("staging", "1M events", bench_staging.NEW, 9.0, 300, 3, "dbt run", "n",
           cpu_seconds=6.0, load_average=5.0),
    Figure("staging", "1M events", bench_staging.OLD, 8.0, 300, 3, "dbt run", "o",
           cpu_seconds=5.0, load_average=5.0),
    Figure("staging", "10M events", bench_staging.NEW, 12.0, 600, 3, "dbt run", "n",
           cpu_seconds=9.0, load_average=6.0),
    Figure("staging", "10M events", bench_staging.OLD, 10.0, 600, 3, "dbt run", "o",
           cpu_seconds=6.0, load_average=6.0),
]


def test_staging_targets_and_ratios() -> None:
    aims = {aim: (measured, verdict) for aim, measured, verdict in run.targets(STAGING)}
    assert aims["new staging at most 1.2x the old (CPU of the incremental run, 10M events)"] == (
        "1.50x", "missed, see below")
    proportional = next(k for k in aims if k.startswith("new staging proportional"))
    assert aims[proportional] == ("1.50x (old design: 1.20x)", "missed, see below")
    table = run._staging_table(STAGING)
    assert f"| {bench_staging.NEW} | 1M events | 6.00 | 9.00 | **1.20x** |  | 5.00 |" in table
    assert f"| {bench_staging.NEW} | 10M events | 9.00 | 12.00 | **1.50x** | 1.50x | 6.00 |" in table
    assert f"| {bench_staging.OLD} | 10M events | 6.00 | 10.00 |  | 1.20x | 6.00 |" in table


def test_a_staging_run_replaces_only_its_section(tmp_path: Path) -> None:
    page = tmp_path / "BENCHMARKS.md"
    page.write_text(f"# Benchmarks\n\nprose\n\n{run.MARK_BEGIN}\n{run.MARK_END}\n")
    others = [Figure("lint", "5,000 domains", "lint: every rule", 1.2, 160, 5, "bench_lint",
                     "0 findings")]
    run.write_markdown(others + STAGING[:2], page, "Last run: then.")
    run.replace_section(STAGING, page, "staging", "Staging section: now.")
    header, kept = run.published(page.read_text())
    assert header == "Last run: then. Staging section: now."
    assert kept == others
    text = page.read_text()
    assert text.count("| batch-driven (new) |") == 2
    assert "| 5,000 domains | lint: every rule | 1.20 | 160 | 5 | 0 findings | `bench_lint` |" in text
