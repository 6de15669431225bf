"""One operating cycle, the thing a scheduler runs per cadence (`syncgov run`).

lock → intent row → `dbt source freshness` of the selection → `dbt build` of the selection,
its tests scoped to the delta (governance/operate/delta_scope.py) → gate and publish the
exports that depend on it → (deliver) → publish the status snapshot, the metrics textfile and
the report → outcome row → release. The nightly job (`full_table_tests`) is a cycle too: lock
→ intent row → `dbt test` of every test over its whole table → outcome row → release.

Every cycle gets its own dbt target path (`target/cycles/<cycle id>`), so two cycles never
read or overwrite each other's run_results.json or sources.json, and the gate reads the
evidence of the invocation that built the rows. The lock covers dbt and syncgov's own writes.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from croniter import croniter

from governance.control_tables import read_snapshot
from governance.dbt_invoke import RunSummary, read_run_results, run_dbt
from governance.errors import CouldNotRun, InputError, UsageError
from governance.exports.artifacts import DbtArtifacts
from governance.exports.delivery import DeliveryOptions, deliver_exports
from governance.exports.publish import ExportOptions, ExportRun, run_exports
from governance.exports.spec import export_specs
from governance.metrics import write_textfile
from governance.observe import lineage as ol
from governance.operate import journal
from governance.operate.delta_scope import CLOCK_MARGIN, NO_MARGIN, CycleScope, scope_for
from governance.operate.lock import WarehouseLock
from governance.published import published_dir, write_snapshot
from governance.registry import load_registry
from governance.replay import ReplayPlan, ReplayResult, run_replay
from governance.report import build_report, write_report
from governance.schedule import FULL_TESTS, SYNC, Job, scheduled_jobs
from governance.status import status_board
from governance.warehouse import Connection, Warehouse, as_warehouse

Progress = Callable[[str], None]
# How a cycle runs dbt: (args, target path, log file) -> dbt's exit code. The default is a
# subprocess per command; `syncgov run --loop` passes an in-process runner (governance/operate/
# loop.py) that keeps the parsed manifest.
DbtCall = Callable[[list[str], Path, Path], int]
# Partial parsing state is per target path: each cycle starts from the newest one a cycle left.
PARTIAL_PARSE = "partial_parse.msgpack"
KEEP_CYCLE_TARGETS = 20


@dataclass(frozen=True)
class Selection:
    """What a cycle builds: named jobs (cadences), one domain, or every job due now."""

    cadence: str | None = None
    domain: str | None = None

    def resolve(self, jobs: list[Job], now: datetime) -> list[Job]:
        if self.cadence is not None and self.domain is not None:
            raise UsageError("give --cadence or --domain, not both")
        if self.cadence is not None:
            found = [j for j in jobs if self.cadence in (j.name, j.cadence)]
            if not found:
                raise UsageError(f"unknown cadence {self.cadence!r}; known: "
                                 + ", ".join(f"{j.name} ({j.cadence})" for j in jobs))
            return found
        if self.domain is not None:
            for job in jobs:
                if self.domain in job.domains:
                    return [job]
            known = sorted(d for j in jobs for d in j.domains)
            raise UsageError(f"unknown domain {self.domain!r}; scheduled domains: "
                             + ", ".join(known))
        return [j for j in jobs if croniter.match(j.cron, now)]


@dataclass(frozen=True)
class CycleOptions:
    project_dir: Path
    registry_dir: Path
    warehouse: Warehouse | Path  # a bare path is a DuckDB file
    selection: Selection = field(default_factory=Selection)
    wait_seconds: float = 0.0
    now: datetime | None = None  # judging time (UTC); the clock when None
    today: date | None = None
    published: Path | None = None  # [default: published/ beside the warehouse]
    target_root: Path | None = None  # [default: PROJECT/target/cycles]
    dbt: DbtCall | None = None  # [default: a dbt subprocess per command]
    # send the published batches to their targets with drt and confirm them (syncgov deliver)
    deliver: bool = False


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool
    summary: str


@dataclass
class CycleResult:
    cycle_id: str
    jobs: tuple[Job, ...]
    target_dir: Path | None
    steps: list[Step] = field(default_factory=list)
    exports: ExportRun | None = None
    paging: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def findings(self) -> bool:
        return bool((self.exports and self.exports.blocked) or self.paging
                    or any(not s.ok for s in self.steps))

    @property
    def exit_code(self) -> int:
        return 1 if self.findings else 0

    @property
    def summary(self) -> str:
        names = ", ".join(j.name for j in self.jobs) or "nothing due"
        blocked = len(self.exports.blocked) if self.exports else 0
        published = len(self.exports.outcomes) - blocked if self.exports else 0
        return (f"cycle {self.cycle_id} ({names}): {published} export(s) published,"
                f" {blocked} blocked, {len(self.paging)} domain(s) paging")


def _utc(moment: datetime | None) -> datetime:
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _write(warehouse: Warehouse, action: Callable[[Connection], None]) -> None:
    """One short read-write visit (only while the lock is held and dbt is not running)."""
    con = warehouse.connect(read_only=False)
    try:
        action(con)
    finally:
        con.close()


def record_event(warehouse: Warehouse | Path, *, cycle_id: str, kind: str, selection: str, event: str,
                 detail: str | None = None) -> None:
    _write(as_warehouse(warehouse), lambda con: journal.record(
        con, cycle_id=cycle_id, kind=kind, selection=selection, event=event,
        at=_utc(None), detail=detail, pid=os.getpid()))


def unfinished_runs(warehouse: Warehouse | Path) -> tuple[journal.Unfinished, ...]:
    con = as_warehouse(warehouse).connect()
    try:
        return journal.unfinished(con)
    finally:
        con.close()


def dependent_exports(registry: dict, manifest_target: Path, jobs: list[Job]) -> tuple[str, ...]:
    """Exports whose model is downstream of a landing source the jobs build."""
    manifest = json.loads((manifest_target / "manifest.json").read_text())
    artifacts = DbtArtifacts(manifest=manifest, runs={}, freshness=None)
    sources = {f"source.{artifacts.package}.{s}" for j in jobs for s in j.sources}
    return tuple(s.export_id for s in export_specs(registry)
                 if sources & artifacts.upstream(artifacts.model_id(s.model)))


def _seed_partial_parse(target_root: Path, target_dir: Path, project_dir: Path) -> None:
    candidates = list(target_root.glob(f"*/{PARTIAL_PARSE}"))
    candidates.append(project_dir / "target" / PARTIAL_PARSE)
    existing = [p for p in candidates if p.exists()]
    if existing:
        newest = max(existing, key=lambda p: p.stat().st_mtime)
        shutil.copy2(newest, target_dir / PARTIAL_PARSE)


def _prune(target_root: Path, keep: int) -> None:
    cycles = sorted((p for p in target_root.iterdir() if p.is_dir()),
                    key=lambda p: p.stat().st_mtime)
    for old in cycles[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def run_cycle(options: CycleOptions, progress: Progress = lambda _m: None,
              deliver: Callable[[ExportRun], None] | None = None) -> CycleResult:
    """Run one cycle. Raises UsageError/InputError before taking the lock (exit 2),
    CouldNotRun when the lock stays taken or dbt cannot run (exit 3); blocked exports and
    paging domains are findings in the result (exit 1)."""
    now = _utc(options.now)
    project = options.project_dir.resolve()
    warehouse = as_warehouse(options.warehouse).resolved()
    if options.deliver and not warehouse.is_duckdb:
        raise UsageError(f"--deliver: delivery reads export models through drt's DuckDB source"
                         f" and runs on DuckDB only; {warehouse} is Snowflake (docs/snowflake.md)")
    registry = load_registry(options.registry_dir)
    jobs = options.selection.resolve(scheduled_jobs(registry), now)
    cycle_id = now.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    result = CycleResult(cycle_id, tuple(jobs), None)
    if not jobs:
        progress("nothing due at this minute")
        return result
    if not warehouse.exists():
        raise InputError(f"{warehouse}: no warehouse; run `syncgov simulate` (or load it) first")
    selection = " ".join(j.name for j in jobs)
    lock = WarehouseLock(warehouse.path).exclusive(options.wait_seconds,
                                                   f"syncgov run {selection}")
    progress(f"waiting up to {options.wait_seconds:g}s for {lock.path.name}")
    with lock:
        target_root = options.target_root or project / "target" / "cycles"
        target = target_root / cycle_id
        target.mkdir(parents=True, exist_ok=True)
        result.target_dir = target
        record_event(warehouse, cycle_id=cycle_id, kind="run", selection=selection,
                     event=journal.STARTED, detail=json.dumps({"target": str(target)}))
        result.notes.extend(journal.describe(u) for u in unfinished_runs(warehouse)
                            if u.cycle_id != cycle_id)
        outcome, detail = "failed", None
        # OpenLineage (when the environment or policy.lineage names a transport): a run per
        # cycle, with each export's run as its child
        emitter = ol.LineageEmitter.from_config(registry)
        lineage_run = emitter.start(f"syncgov.run.{'.'.join(j.name for j in jobs)}") \
            if emitter.enabled else None
        try:
            _seed_partial_parse(target_root, target, project)
            # judged as of after the wait for the lock, not when the cycle was started
            sync_jobs = [j for j in jobs if j.kind == SYNC]
            if sync_jobs:
                _cycle_steps(options, registry, sync_jobs, project, warehouse, target,
                             _utc(options.now), result, progress, deliver, emitter, lineage_run)
            if any(j.kind == FULL_TESTS for j in jobs):
                _full_test_steps(options, project, warehouse, target, result, progress)
            outcome = "findings" if result.findings else "ok"
            detail = result.summary
            if lineage_run is not None:
                inputs, outputs = ol.cycle_datasets(warehouse, registry, _manifest(target))
                emitter.complete(lineage_run, inputs=inputs, outputs=outputs)
                result.notes.extend(emitter.errors)
        except CouldNotRun as exc:
            detail = str(exc).splitlines()[0]
            if lineage_run is not None:
                emitter.fail(lineage_run, detail)
            raise
        except BaseException as exc:  # a signal, Ctrl-C or a bug: record it, then let it go
            outcome = "interrupted" if isinstance(exc, KeyboardInterrupt | SystemExit) \
                else "failed"
            detail = f"{type(exc).__name__}: {exc}".splitlines()[0]
            if lineage_run is not None:
                emitter.fail(lineage_run, detail)
            raise
        finally:
            record_event(warehouse, cycle_id=cycle_id, kind="run", selection=selection,
                         event=outcome, detail=detail)
            _prune(target_root, KEEP_CYCLE_TARGETS)
    return result


def subprocess_dbt(project: Path, warehouse: Warehouse | Path) -> DbtCall:
    warehouse = as_warehouse(warehouse)

    def call(args: list[str], target: Path, log: Path) -> int:
        return run_dbt(args, project_dir=project, log_path=log,
                       env=warehouse.dbt_env(), target_dir=target,
                       check=False).returncode
    return call


def _manifest(target: Path) -> dict | None:
    try:
        return json.loads((target / "manifest.json").read_text())
    except (OSError, ValueError):
        return None


def _cycle_steps(options: CycleOptions, registry: dict, jobs: list[Job], project: Path,
                 warehouse: Warehouse, target: Path, now: datetime, result: CycleResult,
                 progress: Progress, deliver: Callable[[ExportRun], None] | None,
                 lineage: ol.LineageEmitter | None = None,
                 lineage_parent: ol.Run | None = None) -> None:
    dbt = options.dbt or subprocess_dbt(project, warehouse)
    logs = target / "logs"
    sources = sorted({s for j in jobs for s in j.sources})

    progress(f"dbt source freshness of {len(sources)} source(s)")
    code = dbt(["source", "freshness", "--select", *(f"source:{s}" for s in sources)], target,
               logs / "freshness.log")
    if not (target / "sources.json").exists():
        raise CouldNotRun(f"`dbt source freshness` could not run (exit {code});"
                          f" log: {logs / 'freshness.log'}")
    stale = [r for r in json.loads((target / "sources.json").read_text()).get("results", [])
             if r.get("status") in ("error", "runtime error")]
    result.steps.append(Step("freshness", not stale, f"{len(sources)} source(s) checked,"
                             f" {len(stale)} stale" + (f" ({stale[0]['unique_id']})" if stale
                                                       else "")))
    progress("freshness: " + result.steps[-1].summary)

    scope = _scope(warehouse, jobs)
    progress(f"dbt build --select {' '.join(f'source:{s}+' for s in sources)}"
             f" {' '.join(scope.build_args())} ({scope.summary})".replace("  ", " "))
    with scope.environment():
        code = dbt(["build", "--select", *(f"source:{s}+" for s in sources),
                    *scope.build_args()], target, logs / "build.log")
    summary, failed = _dbt_outcome("dbt build", code, target, logs / "build.log")
    result.steps.append(Step("build", not failed, f"{summary.count('success')} built,"
                             f" {summary.count('pass')} tests passed, {len(failed)} failed"
                             + (f" (e.g. {failed[0].name}: {failed[0].status})" if failed
                                else "") + f"; {scope.summary}"))
    progress("build: " + result.steps[-1].summary)

    selected = dependent_exports(registry, target, jobs)
    if selected:
        progress(f"gating {len(selected)} export(s): {', '.join(selected)}")
        result.exports = run_exports(ExportOptions(
            project_dir=project, registry_dir=options.registry_dir, target_dir=target,
            warehouse=warehouse, out_dir=target / "exports", select=selected,
            today=options.today, now=now, lineage=lineage, lineage_parent=lineage_parent))
        blocked = len(result.exports.blocked)
        result.steps.append(Step("export", not blocked, f"{len(selected) - blocked} published,"
                                 f" {blocked} blocked"))
    else:
        result.steps.append(Step("export", True, "no export depends on this selection"))
    progress("export: " + result.steps[-1].summary)

    # deliver: send the published batches to their targets, confirm them at the target and
    # advance each watermark past what was accepted; under the lock, after the gate.
    if deliver is not None and result.exports is not None:
        deliver(result.exports)
    elif options.deliver and result.exports is not None:
        published_ids = tuple(o.export_id for o in result.exports.outcomes
                              if o.verdict != "blocked")
        if published_ids:
            report = deliver_exports(DeliveryOptions(
                warehouse=warehouse.path, exports_dir=result.exports.out_dir, target_dir=target,
                select=published_ids, now=now))
            failed = report.failed
            result.steps.append(Step("deliver", not failed, ", ".join(
                f"{o.export_id} {o.status} ({o.rows_accepted}/{o.rows_sent} accepted)"
                for o in report.outcomes) or "nothing to deliver"))
        else:
            result.steps.append(Step("deliver", True, "no published export to deliver"))
        progress("deliver: " + result.steps[-1].summary)

    published = options.published or published_dir(warehouse)
    snapshot = read_snapshot(warehouse)
    board = status_board(snapshot, registry)
    write_snapshot(snapshot, published, now, tuple(
        journal.describe(u) for u in unfinished_runs(warehouse) if u.cycle_id != result.cycle_id))
    write_textfile(board, snapshot.attainment, _mkdir(published) / "syncgov.prom")
    manifest = json.loads((target / "manifest.json").read_text())
    write_report(build_report(snapshot, registry, manifest, today=options.today or now.date(),
                              generated_at=now), published / "report.html")
    result.paging = tuple(d.domain for d in board.paging)
    result.steps.append(Step("publish", True, f"snapshot, metrics and report in {published}"))
    progress("publish: " + result.steps[-1].summary)


def _scope(warehouse: Warehouse, jobs: list[Job]) -> CycleScope:
    """The delta this cycle's tests read: since the jobs' last clean build began."""
    started_at = _utc(None)  # the warehouse's clock stamps the rows, not the judging time
    con = warehouse.connect()
    try:
        return scope_for(con, [j.name for j in jobs], started_at,
                         NO_MARGIN if warehouse.is_duckdb else CLOCK_MARGIN)
    finally:
        con.close()


def _full_test_steps(options: CycleOptions, project: Path, warehouse: Warehouse, target: Path,
                     result: CycleResult, progress: Progress) -> None:
    """The nightly job: every test over its whole table (no scope in the environment), so the
    export gate has a recent full-table result of each test that guards an export."""
    dbt = options.dbt or subprocess_dbt(project, warehouse)
    logs = target / "logs"
    progress("dbt test (every test, whole tables)")
    with CycleScope(_utc(None), None, ()).environment():
        code = dbt(["test"], target, logs / "full_tests.log")
    summary, failed = _dbt_outcome("dbt test", code, target, logs / "full_tests.log")
    result.steps.append(Step("full_tests", not failed, f"{summary.count('pass')} tests passed"
                             f" over whole tables, {summary.count('warn')} warned,"
                             f" {len(failed)} failed" + (f" (e.g. {failed[0].name})" if failed
                                                          else "")))
    progress("full_tests: " + result.steps[-1].summary)


def _dbt_outcome(command: str, code: int, target: Path, log: Path) -> tuple[RunSummary, list]:
    """The results of a `dbt build` / `dbt test` and its failed nodes. Exit 1 is dbt's "a node
    failed" (the gate then blocks what it feeds); any other exit, or no results at all, means
    dbt itself could not run."""
    if code not in (0, 1) or not (target / "run_results.json").exists():
        raise CouldNotRun(f"`{command}` could not run (exit {code}); log: {log}")
    summary = read_run_results(target)
    return summary, [n for n in summary.notable if n.status in ("error", "fail", "runtime error")]


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_replay_cycle(replay: ReplayPlan, project_dir: Path, warehouse: Warehouse | Path, *,
                     wait_seconds: float, target_root: Path | None = None,
                     progress: Progress = lambda _m: None) -> ReplayResult:
    """A replay joins the cycle: the same lock, its intent recorded before dbt starts and its
    outcome after; one that dies part-way shows in `syncgov status` until it is re-run."""
    project, warehouse = project_dir.resolve(), as_warehouse(warehouse).resolved()
    selection = f"domain {replay.domain} since {replay.since.isoformat(sep=' ')}"
    lock = WarehouseLock(warehouse.path).exclusive(wait_seconds, f"syncgov replay {selection}")
    progress(f"waiting up to {wait_seconds:g}s for {lock.path.name}")
    with lock:
        cycle_id = _utc(None).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        target = (target_root or project / "target" / "cycles") / cycle_id
        target.mkdir(parents=True, exist_ok=True)
        record_event(warehouse, cycle_id=cycle_id, kind="replay", selection=selection,
                     event=journal.STARTED, detail=json.dumps({"target": str(target)}))
        outcome, detail = "failed", None
        try:
            result = run_replay(replay, project, warehouse, target_dir=target)
            outcome, detail = "ok", f"{result.build.count('success')} built"
        except BaseException as exc:
            outcome = "interrupted" if isinstance(exc, KeyboardInterrupt | SystemExit) \
                else "failed"
            detail = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise
        finally:
            record_event(warehouse, cycle_id=cycle_id, kind="replay", selection=selection,
                         event=outcome, detail=detail)
    return result
