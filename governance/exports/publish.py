"""`syncgov export` as a library call: evaluate every export's gate, write its manifest,
render the publishable ones, and record every verdict in audit.sync_export_log."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from governance.errors import UsageError
from governance.exports import audit_log, delivery_log
from governance.exports.artifacts import DbtArtifacts, load_artifacts
from governance.exports.batch import Batch, plan_batch
from governance.exports.binding import dbt_test, model_evidence
from governance.exports.evidence import DomainHealth, ModelStats, WarehouseEvidence
from governance.exports.gates import (
    PASS,
    CheckResult,
    GateInputs,
    GateResult,
    UpstreamDomain,
    evaluate,
    next_run,
)
from governance.exports.manifest import (
    INDEX_SCHEMA_FILE,
    INDEX_SCHEMA_ID,
    MANIFEST_VERSION,
    Lineage,
    build_manifest,
    check_json,
    iso,
    validation_errors,
    write_json,
)
from governance.exports.renderers import Rendering, RenderOptions, renderers
from governance.exports.spec import DomainSpec, ExportSpec, domain_specs, export_specs
from governance.findings import Finding
from governance.lint import lint
from governance.observe import lineage as ol
from governance.registry import load_registry
from governance.registry.model import model_of
from governance.warehouse import Warehouse, as_warehouse

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ExportOptions:
    project_dir: Path
    registry_dir: Path
    target_dir: Path
    warehouse: Warehouse | Path  # a bare path is a DuckDB file
    out_dir: Path
    render: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    render_options: RenderOptions = field(default_factory=RenderOptions)
    today: date | None = None
    now: datetime | None = None  # evaluation time (UTC); the clock when None
    # OpenLineage: one run per export (START, then COMPLETE, or FAIL when blocked or on error),
    # a child of `lineage_parent` (the cycle's run) when given
    lineage: ol.LineageEmitter | None = None
    lineage_parent: ol.Run | None = None


@dataclass(frozen=True)
class ExportOutcome:
    export_id: str
    target: str
    verdict: str
    reasons: tuple[CheckResult, ...]
    batch: Batch
    rows_current: int
    rows_previous: int | None
    manifest_path: Path
    effective_schedule: str
    retry_at: datetime | None
    held_for: tuple[str, ...]
    rendered: dict[str, Rendering]


@dataclass(frozen=True)
class ExportRun:
    evaluated_at: datetime
    out_dir: Path
    index_path: Path
    outcomes: tuple[ExportOutcome, ...]
    manifests: tuple[dict[str, Any], ...] = ()

    @property
    def blocked(self) -> list[ExportOutcome]:
        return [o for o in self.outcomes if o.verdict == "blocked"]


def _relevant(findings: list[Finding], spec: ExportSpec) -> tuple[Finding, ...]:
    """Lint findings about the export or what it relies on: its entry, its domains, its target
    system, and (dbt findings) its model's file."""
    prefixes = (f"exports.{spec.export_id}", *(f"domains.{d}" for d in spec.domains),
                f"systems.{spec.target_system}")
    return tuple(
        f for f in findings
        if any(f.yaml_path == p or f.yaml_path.startswith(p + ".") for p in prefixes)
        or (f.yaml_path == "dbt" and Path(f.path).stem == spec.model)
    )


def _lineage(spec: ExportSpec, artifacts: DbtArtifacts, unique_id: str, flows: dict,
             ) -> Lineage:
    upstream = artifacts.upstream(unique_id)
    sources = sorted(u for u in upstream if u.startswith("source.") and artifacts.source_domain(u))
    domains = [artifacts.source_domain(s) for s in sources]
    ordered = tuple(dict.fromkeys([*spec.domains, *(d for d in domains if d)]))
    nodes = upstream | {unique_id}
    flow_ids = tuple(sorted(name for name, flow in flows.items()
                            if nodes.intersection(flow.dbt_nodes)))
    return Lineage(ordered, tuple(sources),
                   tuple(sorted(u for u in upstream if u.startswith("model."))), flow_ids)


def _upstream_domains(lineage: Lineage, artifacts: DbtArtifacts, domains: dict[str, DomainSpec],
                      health: dict) -> tuple[UpstreamDomain, ...]:
    freshness = artifacts.freshness or {}
    out = []
    for name in lineage.domains:
        sources = tuple((s, freshness.get(s)) for s in lineage.sources
                        if artifacts.source_domain(s) == name)
        out.append(UpstreamDomain(name, domains.get(name), health.get(name), sources))
    return tuple(out)


def _log_row(outcome_spec: ExportSpec, gate: GateResult, batch: Batch, inputs: GateInputs,
             manifest_path: Path, invocation_id: str | None) -> audit_log.LogRow:
    reasons = [{k: v for k, v in check_json(c).items() if v is not None or k in
                ("observed", "threshold")} for c in gate.reasons]
    return audit_log.LogRow(
        export_id=outcome_spec.export_id,
        evaluated_at=inputs.evaluated_at,
        verdict=gate.verdict,
        reasons=json.dumps(reasons),
        batch_id=batch.batch_id,
        watermark_from=batch.watermark_from,
        watermark_to=batch.watermark_to,
        rows_current=inputs.rows_current,
        rows_previous=inputs.rows_previous,
        manifest_path=str(manifest_path.resolve()),
        idempotency_key=batch.idempotency_key,
        rows_in_batch=batch.rows_in_batch,
        target_system=outcome_spec.target_system,
        target_object=outcome_spec.target_object,
        mode=outcome_spec.mode,
        effective_schedule=gate.effective_schedule,
        retry_at=gate.retry_at,
        held_for=",".join(gate.held_for) or None,
        dbt_invocation_id=invocation_id,
    )


def run_exports(options: ExportOptions, progress: Progress = lambda _m: None) -> ExportRun:
    """Evaluate, write, render and record every selected export. Raises InputError when the
    registry, the dbt artifacts or the warehouse cannot be read, UsageError for an unknown
    export or renderer; a blocked export is a result, not an error."""
    available = renderers()
    unknown = [r for r in options.render if r not in available]
    if unknown:
        raise UsageError(f"unknown renderer(s) {', '.join(unknown)}; known: {', '.join(available)}")
    now = (options.now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    registry = load_registry(options.registry_dir)
    specs = export_specs(registry)
    declared = [s.export_id for s in specs]
    if options.select:
        missing = sorted(set(options.select) - set(declared))
        if missing:
            raise UsageError(f"unknown export(s) {', '.join(missing)}; declared: "
                             + ", ".join(declared))
        specs = [s for s in specs if s.export_id in options.select]
    emitter = options.lineage or ol.LineageEmitter(None)
    runs = {s.export_id: emitter.start(
        f"syncgov.export.{s.export_id}", parent=options.lineage_parent,
        job_facets={"ownership": ol.ownership(s.owners.get("technical"),
                                              s.owners.get("business"), kind="job")})
        for s in specs}
    try:
        run = _run_exports(options, registry, specs, declared, available, now, progress)
    except Exception as exc:
        for export_run in runs.values():
            emitter.fail(export_run, f"{type(exc).__name__}: {exc}")
        raise
    namespace = as_warehouse(options.warehouse).namespace
    for manifest in run.manifests:
        ol.emit_export(emitter, manifest, namespace, runs[manifest["export_id"]])
    return run


def _run_exports(options: ExportOptions, registry: dict, specs: list[ExportSpec],
                 declared: list[str], available: dict, now: datetime, progress: Progress,
                 ) -> ExportRun:
    domains = domain_specs(registry)
    teams = registry["teams"].data["teams"]
    flows = model_of(registry).flows

    progress(f"reading dbt artifacts in {options.target_dir}")
    artifacts = load_artifacts(options.target_dir)
    progress(f"linting {options.registry_dir}")
    findings = lint(options.registry_dir, today=options.today or now.date(),
                    manifest={**artifacts.manifest, "_project_dir": str(options.project_dir)})

    progress(f"reading control tables in {options.warehouse}")
    warehouse = WarehouseEvidence.connect(options.warehouse)
    try:
        audit_log.ensure_table(warehouse.con)
        previous = audit_log.previous_publications(warehouse.con, [s.export_id for s in specs])
        artifacts.bind_to_audit_log(warehouse.latest_results(), warehouse.latest_builds(),
                                    warehouse.latest_full_results())
        confirmed = delivery_log.confirmed_watermarks(warehouse.con, [s.export_id for s in specs])
        health = warehouse.domain_health()
        conflicts = warehouse.open_conflicts()
        progress(f"evaluating {len(specs)} export gate(s)")
        manifests: list[dict[str, Any]] = []
        pending: list[tuple[ExportSpec, GateResult, Batch, GateInputs, Path]] = []
        for spec in specs:
            e = _evaluate_one(spec, artifacts, warehouse, findings, domains, health,
                              conflicts, previous.get(spec.export_id), flows, now,
                              confirmed.get(spec.export_id))
            inputs, gate, batch, node = e.inputs, e.gate, e.batch, e.node
            manifest = build_manifest(
                spec=spec, inputs=inputs, gate=gate, batch=batch, lineage=e.lineage, teams=teams,
                relation=node.get("relation_name") if node else None,
                schema_name=node.get("schema") if node else None,
                alias=(node.get("alias") or node.get("name")) if node else None,
                unique_id=artifacts.model_id(spec.model),
                next_run_at=_next_run_at(gate, spec, now),
                invocation_id=artifacts.invocation_id,
                run_results_generated_at=artifacts.run_results_generated_at,
                sources_generated_at=artifacts.sources_generated_at,
            )
            problems = validation_errors(manifest)
            if problems:  # a bug here, never the user's input: fail loudly
                raise AssertionError(f"manifest {spec.export_id} breaks its schema: {problems[:3]}")
            path = options.out_dir / "manifests" / f"{spec.export_id}.json"
            write_json(path, manifest)
            manifests.append(manifest)
            pending.append((spec, gate, batch, inputs, path))

        rendered: dict[str, dict[str, Rendering]] = {}
        for name in options.render:
            progress(f"rendering {name}")
            rendered[name] = available[name](manifests, options.out_dir, declared,
                                             options.render_options)

        audit_log.record(warehouse.con, [
            _log_row(spec, gate, batch, inputs, path, artifacts.invocation_id)
            for spec, gate, batch, inputs, path in pending])
    finally:
        warehouse.close()

    outcomes = tuple(
        ExportOutcome(
            export_id=spec.export_id,
            target=f"{spec.target_system}.{spec.target_object}",
            verdict=gate.verdict,
            reasons=gate.reasons,
            batch=batch,
            rows_current=inputs.rows_current,
            rows_previous=inputs.rows_previous,
            manifest_path=path,
            effective_schedule=gate.effective_schedule,
            retry_at=gate.retry_at,
            held_for=gate.held_for,
            rendered={name: r[spec.export_id] for name, r in rendered.items()},
        )
        for spec, gate, batch, inputs, path in pending
    )
    index_path = options.out_dir / "index.json"
    index = build_index(outcomes, options.out_dir, now)
    problems = validation_errors(index, INDEX_SCHEMA_FILE)
    if problems:
        raise AssertionError(f"the manifest index breaks its schema: {problems[:3]}")
    write_json(index_path, index)
    return ExportRun(now, options.out_dir, index_path, outcomes, tuple(manifests))


def _next_run_at(gate: GateResult, spec: ExportSpec, now: datetime) -> datetime | None:
    """When the export should next run: its (possibly degraded) schedule, or for a blocked
    export the retry the gate named, else its next scheduled evaluation."""
    if gate.verdict == "blocked":
        return gate.retry_at or next_run(spec.schedule, now)
    return next_run(gate.effective_schedule, now)


@dataclass(frozen=True)
class _Evaluation:
    inputs: GateInputs
    gate: GateResult
    batch: Batch
    lineage: Lineage
    node: dict[str, Any] | None


def _evaluate_one(spec: ExportSpec, artifacts: DbtArtifacts, warehouse: WarehouseEvidence,
                  findings: list[Finding], domains: dict[str, DomainSpec],
                  health: dict[str, DomainHealth], conflicts: dict[tuple[str, str], int],
                  previous: audit_log.Publication | None, flows: dict, now: datetime,
                  confirmed: datetime | None = None) -> _Evaluation:
    unique_id = artifacts.model_id(spec.model)
    node = artifacts.manifest["nodes"].get(unique_id)
    lineage = _lineage(spec, artifacts, unique_id, flows) if node else Lineage(
        spec.domains, (), (), ())
    watched = {unique_id} | {m for m in lineage.models if artifacts.is_state_model(m)}
    tests = tuple(dbt_test(t, artifacts) for t in artifacts.tests_on(watched))
    if node:
        stats = warehouse.model_stats(node["schema"], node.get("alias") or node["name"], spec.cursor)
        from_ = confirmed  # the window starts at the last confirmed delivery
        rows_in_batch = warehouse.rows_after(node["schema"], node.get("alias") or node["name"],
                                             spec.cursor, from_)
    else:
        stats, rows_in_batch = ModelStats(False, 0, None), 0
    exported = {f"{f.domain}.{f.field}" for f in spec.fields}
    inputs = GateInputs(
        spec=spec,
        evaluated_at=now,
        lint_findings=_relevant(findings, spec),
        model_in_manifest=node is not None,
        model_run=artifacts.runs.get(unique_id),
        model_columns=frozenset((node or {}).get("columns", {})) if node else None,
        model_built=stats.exists,
        tests=tests,
        domains=_upstream_domains(lineage, artifacts, domains, health),
        freshness_checked=artifacts.freshness is not None,
        open_conflicts={f"{d}.{f}": n for (d, f), n in conflicts.items() if f"{d}.{f}" in exported},
        rows_current=stats.rows,
        rows_previous=previous.rows_current if previous else None,
        evidence=model_evidence(watched, artifacts, domains),
        sources_generated_at=artifacts.sources_generated_at,
    )
    gate = evaluate(inputs)
    batch = plan_batch(spec.export_id, spec.cursor, previous, stats, rows_in_batch, confirmed)
    return _Evaluation(inputs, gate, batch, lineage, node)


def build_index(outcomes: tuple[ExportOutcome, ...], out_dir: Path, now: datetime,
                ) -> dict[str, Any]:
    def rel(path: Path | None) -> str | None:
        if path is None:
            return None
        try:
            return str(path.resolve().relative_to(out_dir.resolve()))
        except ValueError:
            return str(path)

    summary = {"publishable": 0, "warn": 0, "blocked": 0}
    for o in outcomes:
        summary[o.verdict] += 1
    return {
        "$schema": INDEX_SCHEMA_ID,
        "manifest_version": MANIFEST_VERSION,
        "generated_at": iso(now),
        "summary": summary,
        "exports": [{
            "export_id": o.export_id,
            "verdict": o.verdict,
            "manifest": rel(o.manifest_path),
            "batch_id": o.batch.batch_id,
            "rows_current": o.rows_current,
            "reasons": list(dict.fromkeys(r.check for r in o.reasons if r.status != PASS)),
            "rendered": {name: rel(r.path) for name, r in o.rendered.items()},
            "render_notes": {name: r.reason for name, r in o.rendered.items() if r.reason},
        } for o in outcomes],
    }

