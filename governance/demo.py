"""The demo: a fault-injected landing zone, a real dbt build on DuckDB, and what it caught.

Faults are injected on purpose, so the demo succeeds while showing them: latency SLO breaches
are warnings, while data-integrity failures (duplicate state keys, overlapping history) would
fail the build and therefore the demo.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from governance.control_tables import read_snapshot
from governance.dbt_invoke import (
    FreshnessResult,
    RunSummary,
    read_freshness,
    read_run_results,
    run_dbt,
)
from governance.exports.publish import ExportOptions, ExportRun, run_exports
from governance.lint import load_manifest
from governance.registry import load_registry
from governance.registry.model import load_model
from governance.report import build_report, write_report
from governance.simulate import SimulationParams, simulate
from governance.simulate.catalog import tables_for
from governance.simulate.faults import DEMO_FAULTS
from governance.status import StatusBoard, status_board

STATE_TABLES = (
    "customer_state",
    "product_state",
    "inventory_state",
    "order_state",
    "supplier_state",
    "invoice_state",
)


@dataclass(frozen=True)
class DemoSummary:
    warehouse: Path
    seconds: float
    landed_rows: int
    staged_events: int
    state_rows: dict[str, tuple[int, int]]
    quarantine: dict[str, int]
    build: RunSummary
    incremental: RunSummary
    freshness: tuple[FreshnessResult, ...]
    stalled_system: str | None
    health: tuple[tuple[str, str, str], ...]
    reconciliation: dict[str, int]
    dispositions: dict[str, int]
    conflicts: dict[str, int]
    drifted_keys: dict[str, int]
    corrections: tuple[tuple[str, bool], ...]
    exports: ExportRun | None = None
    drt_validate: str | None = None
    # late-committed batches of the append, by how long before the run they were stamped:
    # minutes late -> (batches, of which fully staged by the incremental build)
    late_commits: dict[int, tuple[int, int]] = field(default_factory=dict)
    # the operator surface (issue 7): the status board and the HTML report
    status: StatusBoard | None = None
    report: Path | None = None


def run_demo(
    project_dir: Path,
    warehouse: Path,
    *,
    events: int = 100_000,
    seed: int = 42,
    echo: Callable[[str], None] = lambda _m: None,
) -> DemoSummary:
    started = time.monotonic()
    logs = warehouse.parent / "logs"
    env = {"SYNCGOV_WAREHOUSE": str(warehouse.resolve())}
    if warehouse.exists():
        warehouse.unlink()

    echo(f"1/5 simulate {events:,} events with every fault into {warehouse}")
    # the landing tables the registry declares (the demo's own, tuned, for the shipped registry)
    tables = tables_for(load_model(project_dir / "registry"))
    sim = simulate(
        SimulationParams(warehouse=warehouse, seed=seed, events=events, faults=DEMO_FAULTS,
                         tables=tables)
    )
    echo(f"    {sim.rows_landed:,} rows landed; stalled system: {sim.stalled_system}")

    echo("2/5 dbt build (staging, state, history, tests)")
    run = run_dbt(["build"], project_dir=project_dir, log_path=logs / "dbt-build.log", env=env)
    build = read_run_results(project_dir / "target")
    echo(f"    done in {run.seconds:.1f}s: {_counts_line(build)}")

    echo("3/5 two more batches arrive, some committed late: simulate --append, then an"
         " incremental dbt build")
    appended = simulate(
        SimulationParams(warehouse=warehouse, batches=2, faults=DEMO_FAULTS, append=True,
                         tables=tables)
    )
    run = run_dbt(
        ["build"], project_dir=project_dir, log_path=logs / "dbt-build-incremental.log", env=env
    )
    incremental = read_run_results(project_dir / "target")
    echo(f"    done in {run.seconds:.1f}s: {_counts_line(incremental)}")

    echo("4/5 dbt source freshness against the loader's ledger")
    run_dbt(
        ["source", "freshness"],
        project_dir=project_dir,
        log_path=logs / "dbt-freshness.log",
        env=env,
        check=False,  # a stale source is a finding to show, not a demo failure
    )
    freshness = read_freshness(project_dir / "target")

    echo("5/5 read the warehouse")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        state_rows = {
            t: tuple(
                con.execute(
                    f"select count(*), count(*) filter (where _is_deleted) from state.{t}"
                ).fetchone()
            )
            for t in STATE_TABLES
        }
        quarantine = dict(
            con.execute(
                "select _quarantine_reason, count(*) from staging.stg__quarantine"
                " group by 1 order by 2 desc"
            ).fetchall()
        )
        controls = _read_controls(con)
        late_commits = _late_commits(con, json.loads(appended.truth_path.read_text()))
    finally:
        con.close()
    # every landed row has exactly one disposition; all but the later deliveries were staged
    landed = sum(controls["dispositions"].values())
    later_deliveries = sum(controls["dispositions"].get(k, 0) for k in ("duplicate", "duplicate_conflict"))

    echo("then: syncgov export gates the reverse-ETL exports and renders the publishable ones"
         " as a drt project")
    exports_dir = warehouse.parent / "exports"
    shutil.rmtree(exports_dir, ignore_errors=True)  # the previous demo's, with its drt state
    exports = run_exports(ExportOptions(
        project_dir=project_dir, registry_dir=project_dir / "registry",
        target_dir=project_dir / "target", warehouse=warehouse, out_dir=exports_dir,
        render=("drt",)))
    operator = _operator_surface(project_dir, warehouse, echo)
    return DemoSummary(
        exports=exports,
        drt_validate=_drt_validate(exports_dir / "drt"),
        warehouse=warehouse,
        seconds=time.monotonic() - started,
        landed_rows=landed,
        staged_events=landed - later_deliveries,
        state_rows=state_rows,
        quarantine=quarantine,
        build=build,
        incremental=incremental,
        freshness=freshness,
        stalled_system=sim.stalled_system,
        late_commits=late_commits,
        **controls,
        **operator,
    )


def _operator_surface(project_dir: Path, warehouse: Path, echo: Callable[[str], None]) -> dict:
    """The status board and the HTML report, as on-call and stakeholders see them."""
    echo("then: the operator surface — status board and HTML report")
    registry = load_registry(project_dir / "registry")
    snapshot = read_snapshot(warehouse)
    html = build_report(snapshot, registry, load_manifest(project_dir))
    return {
        "status": status_board(snapshot, registry),
        "report": write_report(html, warehouse.parent / "report.html").resolve(),
    }


def _late_commits(con: duckdb.DuckDBPyConnection, truth: dict) -> dict[int, tuple[int, int]]:
    """Batches of the last append stamped before its start, and whether staging holds them."""
    fully_staged = {
        (table, batch) for table, batch in con.execute(
            "select landing_table, batch_key from staging.stg__staged_batches"
            " where rows_staged = rows_landed"
        ).fetchall()
    }
    out: dict[int, tuple[int, int]] = {}
    for table, entry in truth["tables"].items():
        # the truth is cumulative: the append's batches are the table's last `batches`
        last = max(b["sequence_number"] for b in entry["batches"].values())
        first_appended = last - int(truth["run"]["batches"]) + 1
        for batch, minutes in entry["late_commit_batches"].items():
            if entry["batches"][batch]["sequence_number"] < first_appended:
                continue
            seen, staged = out.get(int(minutes), (0, 0))
            out[int(minutes)] = (seen + 1, staged + ((table, batch) in fully_staged))
    return dict(sorted(out.items()))


def _read_controls(con: duckdb.DuckDBPyConnection) -> dict:
    """What the control models say: health, reconciliation, accounting, conflicts, drift."""

    def counts(sql: str) -> dict[str, int]:
        return {str(k): int(v) for k, v in con.execute(sql).fetchall()}

    return {
        "health": tuple(con.execute(
            "select domain, status, reason from control.sync_health where level = 'domain'"
            " order by domain"
        ).fetchall()),
        "reconciliation": counts(
            "select reconciliation_status, count(*) from control.sync_reconciliation"
            " group by 1 order by 2 desc"
        ),
        "dispositions": counts(
            "select disposition, count(*) from control.sync_event_dispositions"
            " group by 1 order by 2 desc"
        ),
        "conflicts": counts(
            "select field || ' (' || rule_applied || ', ' || status || ')', count(*)"
            " from control.sync_conflicts group by 1 order by 1"
        ),
        "drifted_keys": counts(
            "select domain, sum(missing_in_warehouse + missing_in_source + mismatched_keys)"
            " from control.sync_drift_summary group by 1 order by 1"
        ),
        "corrections": tuple(con.execute(
            "select correction_id, is_applied from control.sync_corrections_applied order by 1"
        ).fetchall()),
    }


def _counts_line(summary: RunSummary) -> str:
    parts = []
    for kind, counter in sorted(summary.counts.items()):
        parts.append(f"{kind} " + "/".join(f"{n} {s}" for s, n in sorted(counter.items())))
    return "; ".join(parts)


def _drt_validate(project: Path) -> str:
    """What `drt validate` says about the rendered drt project (drt-core is a dev dependency)."""
    drt = Path(sys.executable).with_name("drt")
    if not drt.exists():
        return "drt is not installed here (`make install` adds it)"
    proc = subprocess.run([str(drt), "validate"], cwd=project, capture_output=True, text=True,
                          env={**os.environ, "DO_NOT_TRACK": "1"},
                          check=False, timeout=300)
    lines = [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    verdict = "accepted" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
    return f"{verdict}: " + ("; ".join(lines) or "no output")
