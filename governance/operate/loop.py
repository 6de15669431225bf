"""`syncgov run --loop`: one long-lived process for real-time cadences.

dbt runs in-process (`dbtRunner`) on a manifest parsed once and reused by every cycle, so a
cycle pays neither a Python start nor a parse; the project is parsed again only when one of
its files changes. A cycle that fails is recorded (the journal, the outcome) and the loop goes
on; SIGTERM lets the current cycle finish and then stops.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.cli.main import dbtRunner

from governance.errors import CouldNotRun
from governance.operate.cycle import CycleOptions, CycleResult, Progress, run_cycle
from governance.operate.delta_scope import environment
from governance.warehouse import Warehouse, as_warehouse

# What a parse reads: a change in any of these makes the next cycle parse again.
PROJECT_INPUTS = ("dbt_project.yml", "models", "macros", "seeds", "snapshots", "tests/dbt")


def fingerprint(project: Path) -> tuple[int, int]:
    """(newest mtime in ns, number of files) over the project's dbt inputs."""
    newest, count = 0, 0
    for name in PROJECT_INPUTS:
        root = project / name
        paths = [root] if root.is_file() else root.rglob("*") if root.is_dir() else []
        for path in paths:
            if path.is_file():
                count += 1
                newest = max(newest, path.stat().st_mtime_ns)
    return newest, count




class InProcessDbt:
    """dbt in this process, with one parsed manifest reused until the project changes."""

    def __init__(self, project: Path, warehouse: Warehouse | Path, parse_target: Path) -> None:
        warehouse = as_warehouse(warehouse)
        self.project = project
        self.warehouse = warehouse
        self.parse_target = parse_target
        self.parses = 0
        self._manifest: Any = None
        self._fingerprint: tuple[int, int] | None = None
        self._env = {"DBT_PROFILES_DIR": str(project), **warehouse.dbt_env(),
                     "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}

    def _common(self, target: Path, log: Path) -> list[str]:
        return ["--project-dir", str(self.project), "--target-path", str(target),
                "--log-path", str(log.parent), "--quiet"]

    def _ensure_parsed(self) -> None:
        current = fingerprint(self.project)
        if self._manifest is not None and current == self._fingerprint:
            return
        self.parse_target.mkdir(parents=True, exist_ok=True)
        result = dbtRunner().invoke(["parse", *self._common(self.parse_target,
                                                            self.parse_target / "parse.log")])
        if not result.success or result.result is None:
            raise CouldNotRun(f"`dbt parse` failed: {result.exception}")
        self._manifest, self._fingerprint = result.result, current
        self.parses += 1

    def __call__(self, args: list[str], target: Path, log: Path) -> int:
        log.parent.mkdir(parents=True, exist_ok=True)
        with environment(self._env):
            self._ensure_parsed()
            try:
                result = dbtRunner(manifest=self._manifest).invoke(
                    [*args, *self._common(target, log)])
            finally:
                # dbt-duckdb keeps the database open between invocations: close it, so
                # syncgov's own writes and other processes' readers can open the file
                DuckDBConnectionManager.close_all_connections()
        if result.exception is not None:
            return 2
        return 0 if result.success else 1


@dataclass
class LoopState:
    cycles: int = 0
    failed: int = 0
    results: list[CycleResult] = field(default_factory=list)


def run_loop(options: CycleOptions, stop: threading.Event, *,
             progress: Progress = lambda _m: None, max_cycles: int | None = None,
             pause_seconds: float = 1.0,
             on_cycle: Callable[[CycleResult | None, Exception | None], None] | None = None,
             ) -> LoopState:
    """Run cycles back to back until `stop` is set (or `max_cycles` ran): the selected
    cadence every time, or with no selection the jobs due each minute (each minute once)."""
    project, warehouse = options.project_dir.resolve(), as_warehouse(options.warehouse).resolved()
    target_root = options.target_root or project / "target" / "cycles"
    dbt = options.dbt or InProcessDbt(project, warehouse, target_root.parent / "loop-parse")
    options = replace(options, dbt=dbt, target_root=target_root)
    state = LoopState()
    last_minute: datetime | None = None
    selected = options.selection.cadence is not None or options.selection.domain is not None
    while not stop.is_set() and (max_cycles is None or state.cycles < max_cycles):
        minute = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
        if not selected and minute == last_minute:
            stop.wait(pause_seconds)
            continue
        last_minute = minute
        try:
            result = run_cycle(replace(options, now=None if selected else minute), progress)
            if not result.jobs:  # nothing due this minute
                continue
            state.results.append(result)
            if on_cycle:
                on_cycle(result, None)
        except Exception as exc:  # noqa: BLE001 - a failed cycle is recorded and survived
            state.failed += 1
            progress(f"cycle failed: {str(exc).splitlines()[0] if str(exc) else exc!r}")
            if on_cycle:
                on_cycle(None, exc)
        state.cycles += 1
        if selected:
            stop.wait(pause_seconds)
    return state
