"""The benchmark harness: the floor reads the models' own specs, drift preparation and the peer
agree with an independent count, and the generated section replaces only its own markers."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb

from bench import bench_delta, drift, floor, run
from bench.measure import Figure


def test_floor_reads_every_pipeline_from_the_models() -> None:
    pipelines = {p.state: p for p in floor.pipelines()}
    assert len(pipelines) == 11
    wms = pipelines["state.state_wms__inventory_movements"]
    assert wms.derived_key == ["inventory_id", "sku || ':' || site_id"]
    assert wms.identity_columns == ["sku", "site_id"]
    assert wms.non_negative == ["quantity_on_hand"]
    for p in pipelines.values():
        staged = {c[1] for c in p.columns} | ({p.derived_key[0]} if p.derived_key else set())
        assert {p.state_key, *p.state_columns, *p.identity_columns} <= staged, p.state


def test_floor_validates_in_the_order_staging_does() -> None:
    wms = next(p for p in floor.pipelines() if p.entity == "inventory_movements")
    reasons = [reason for _, reason, _ in floor._checks(wms)]
    assert reasons == ["'null_event_id'", "'null_key'", "'null_key'", "'invalid_op'",
                       "'unparseable_timestamp'", "'unparseable_number'", "'unparseable_number'",
                       "'invalid_enum'", "'negative_quantity'"]


def _tiny_warehouse(path: Path, keys: int) -> None:
    """Every state table drift compares, and its extract, with `keys` live rows each."""
    con = duckdb.connect(str(path))
    con.execute("create schema state")
    con.execute("create schema landing")
    for pair in drift.pairs():
        identity = pair.peer_keys != ["entity_key"]  # inventory: sku || ':' || site_id
        key = ("'SKU-' || i || ':DC-' || (i % 3)" if identity
               else "'K' || lpad(cast(i as varchar), 6, '0')")
        identity_values = ", 'SKU-' || i as sku, 'DC-' || (i % 3) as site_id" if identity else ""
        con.execute(f"""
            create table {pair.state} as
            select {key} as {pair.key}{identity_values},
                'name ' || i as label, i * 10 as quantity, i % 7 = 0 as _is_deleted,
                timestamp '2026-11-24 10:00:00' as _source_event_at
            from range({keys}) as t(i)""")
        composite = pair.key_column in pair.peer_keys  # its key is built from sku and site_id
        extract_key = "" if composite else f"cast(null as varchar) as {pair.key_column}, "
        extra = ", cast(null as varchar) as sku, cast(null as varchar) as site_id" if identity else ""
        con.execute(f"""
            create table {pair.extract} as
            select {extract_key}cast(null as varchar) as label, cast(null as varchar) as quantity{extra},
                cast(null as timestamp) as updated_at, cast(null as timestamp) as _extracted_at
            where false""")
    con.close()


def test_prepared_drift_is_found_exactly_by_the_peer(tmp_path: Path) -> None:
    wh = tmp_path / "tiny.duckdb"
    _tiny_warehouse(wh, 100)
    drift.prepare(wh, 0.3)
    # independent count: keys only on one side, or with a different label or quantity
    con = duckdb.connect(str(wh), read_only=True)
    expected = {}
    for pair in drift.pairs():
        key = pair.key_expr
        rows = con.execute(f"""
            with s as (select {key} as k, label, quantity from {pair.extract}),
            w as (select cast({pair.key} as varchar) as k, label, cast(quantity as varchar) as quantity
                  from {pair.state} where not _is_deleted)
            select coalesce(s.k, w.k) from s full outer join w on s.k = w.k
            where s.k is null or w.k is null or s.label is distinct from w.label
                or s.quantity is distinct from w.quantity""").fetchall()
        expected[pair.name] = sorted(r[0] for r in rows)
    con.close()
    assert all(expected.values())  # every table has some drift at 30 %

    keys_file = tmp_path / "keys.json"
    result = drift.run_peer(wh, keys_file)
    found = json.loads(keys_file.read_text())
    assert drift.same_keys(found, expected) == (True, result["keys"])


def test_same_keys_compares_sets_per_table() -> None:
    assert drift.same_keys({"a": ["1", "2"]}, {"a": ["2", "1"]}) == (True, 2)
    assert drift.same_keys({"a": ["1"]}, {"b": ["1"]})[0] is False


FIGURES = [
    Figure("apply", "1M events", "floor: hand-written SQL", 0.5, 100, 3, "python -m bench.floor W",
           "process wall 2.0 s"),
    Figure("apply", "1M events", "incremental dbt run after the 1 % append, model execution",
           1.0, 300, 3, "dbt run"),
    Figure("apply", "1M events", "incremental dbt run after the 1 % append, wall clock", 6.0,
           300, 3, "dbt run"),
    Figure("apply", "1M events", "full refresh of the same warehouse, model execution", 20.0,
           900, 3, "dbt run --full-refresh"),
    Figure("apply", "1M events", "full refresh of the same warehouse, wall clock", 25.0, 900, 3,
           "dbt run --full-refresh"),
    Figure("drift", "1M events, 5.0% differ", "sync_drift, model execution", 1.0, 200, 3,
           "dbt run --select sync_drift", "**4.0x faster** than reladiff's diff; 9 differing keys,"
           " identical to reladiff's"),
    Figure("lint", "5,000 domains + 5,000 flows", "lint: every rule", 1.2, 160, 5, "bench_lint"),
]


def test_targets_say_what_was_met() -> None:
    aims = {aim: (measured, verdict) for aim, measured, verdict in run.targets(FIGURES)}
    floor = "; the floor skips the entity states dbt rebuilds)"
    assert aims["incremental apply under 1.5x the floor (model execution against the floor's"
                " statements, 1M events" + floor] == ("2.0x", "missed, see below")
    # like with like: dbt's whole process (6.0 s) against the floor's whole process (2.0 s),
    # not against the floor's statement time (0.5 s)
    assert aims["incremental apply under 1.5x the floor (wall clock, dbt's process against the"
                " floor's process, 1M events" + floor] == ("3.0x", "missed, see below")
    assert aims["incremental under a tenth of a full refresh (model execution, 1M events)"] == (
        "0.050x", "met")
    assert aims["incremental under a tenth of a full refresh (wall clock, 1M events)"] == (
        "0.240x", "missed, see below")
    # the reladiff lead is against its defaults, not its best configuration: it is reported
    # as withdrawn, never as met
    assert aims["sync_drift at least 3x faster than reladiff (model execution against reladiff"
                " at its defaults, every size and share)"] == (
        "4.0x to 4.0x", "withdrawn: not against the peer's best configuration, see below")
    assert aims["identical differing keys"] == ("every size and share", "met")
    assert aims["lint of 5,000 domains under 2 s"] == ("1.20 s", "met")
    assert aims["no step above a few GiB of memory"][1] == "met"


def test_markdown_is_rewritten_only_between_the_markers(tmp_path: Path) -> None:
    page = tmp_path / "BENCHMARKS.md"
    page.write_text(f"# Benchmarks\n\nprose before\n\n{run.MARK_BEGIN}\nold table\n{run.MARK_END}\n\nprose after\n")
    run.write_markdown(FIGURES, page, "Last run: now.")
    text = page.read_text()
    assert text.startswith("# Benchmarks\n\nprose before\n\n")
    assert text.endswith(f"{run.MARK_END}\n\nprose after\n")
    assert "old table" not in text
    assert "### Drift detection against reladiff" in text
    assert "| 1M events | floor: hand-written SQL | 0.50 | 100 | 3 |" in text


def test_every_measured_dbt_run_meets_the_parse_of_the_build(tmp_path: Path, monkeypatch) -> None:
    """The profile names the warehouse: a measured run on another file name re-parses first."""
    calls: list[tuple[list[str], dict[str, str]]] = []

    def fake_measure(cmd: list[str], *, env: dict[str, str] | None = None, cwd=None):
        calls.append((cmd, env or {}))
        if "simulate" in cmd:
            Path(cmd[cmd.index("--warehouse") + 1]).write_text("warehouse")
        return run.Sample(1.0, 100.0)

    monkeypatch.setattr(run, "measure", fake_measure)
    ws = run.Workspace(1000, tmp_path)
    ws.build()
    seen = {(env["SYNCGOV_WAREHOUSE"], env["DBT_TARGET_PATH"]) for _, env in calls if env}
    assert len(seen) == 1  # seed and the first build: one profile, one target
    for _ in range(3):
        wh = ws.checkout()
        ws.run(wh, "--select", "staging")
        wh.unlink()
    measured = [(env["SYNCGOV_WAREHOUSE"], env["DBT_TARGET_PATH"]) for _, env in calls if env]
    assert set(measured) == seen
    # a warehouse alive beside the stable one gets a target of its own, so it voids no parse
    side = ws.side_copy("single")
    ws.run(side, "--threads", "1")
    side_warehouse, side_target = (calls[-1][1]["SYNCGOV_WAREHOUSE"],
                                   calls[-1][1]["DBT_TARGET_PATH"])
    assert side_warehouse == str(side)
    assert side_target not in {t for _, t in seen}
    assert ws.target_for(side) == Path(side_target)


def test_delta_sizes_are_chosen_with_bench_sizes() -> None:
    assert bench_delta.sizes_from_env({}) == [1_000_000, 3_000_000, 10_000_000, 20_000_000]
    assert bench_delta.sizes_from_env({"BENCH_SIZES": "0.1,3"}) == [100_000, 3_000_000]
    assert bench_delta.sizes_from_env({"BENCH_DELTA_SIZES": "20"}) == [20_000_000]
    assert bench_delta.sizes_from_env({"BENCH_SIZES": "10", "BENCH_DELTA_SIZES": "20"}) == [
        10_000_000]


def test_delta_table_and_chart_show_every_size() -> None:
    points = [bench_delta.Point(1_000_000, 3, 20.0, 40.0, 40.0, 60.0, 86_000, [1.0], 1.0, {},
                                10.0, 600.0),
              bench_delta.Point(3_000_000, 3, 30.0, 50.0, 90.0, 120.0, 92_000, [2.0], 2.0, {}),
              bench_delta.Point(10_000_000, 3, 40.0, 60.0, 300.0, 400.0, 95_000, [3.0], 3.0, {},
                                80.0, 640.0)]
    rows = bench_delta.table(points).splitlines()
    assert len(rows) == 2 + len(points)
    assert rows[2].startswith("| 1M events | 86,000 | 20.0 |")
    assert rows[2].endswith("| 10.0 | 600 |")
    assert "| 2.00x |" in rows[4]
    assert rows[4].endswith("| 80.0 | 640 |")
    assert rows[3].endswith("| — | — |")  # a run from before the simulator was measured
    chart = ET.fromstring(bench_delta.svg(points))
    lines = [e for e in chart.iter() if e.tag.endswith("polyline")]
    assert [len(e.get("points", "").split()) for e in lines] == [3, 3]
    labels = [e.text for e in chart.iter() if e.tag.endswith("text")]
    assert {"1M", "3M", "10M"} <= set(labels)
