"""Gate inputs for unit tests: the demo registry's exports with every piece of evidence
passing, and helpers that break one piece at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from governance.exports.artifacts import NodeRun, SourceFreshness
from governance.exports.batch import Batch, plan_batch
from governance.exports.evidence import DomainHealth, ModelStats
from governance.exports.gates import DbtTest, GateInputs, UpstreamDomain, evaluate
from governance.exports.manifest import Lineage, build_manifest
from governance.exports.spec import ExportSpec, domain_specs, export_specs
from governance.registry import load_registry

REPO = Path(__file__).resolve().parents[3]
REGISTRY = load_registry(REPO / "registry")
SPECS = {s.export_id: s for s in export_specs(REGISTRY)}
DOMAINS = domain_specs(REGISTRY)
NOW = datetime(2026, 11, 24, 10, 7)
HELPDESK = SPECS["helpdesk_customers"]  # customer: retry
STOREFRONT = SPECS["storefront_product_availability"]  # product: pause_downstream, inventory: degrade_to_batch
PROCUREMENT = SPECS["procurement_supplier_risk"]  # supplier: queue; a mirror


def health(domain: str, **changes) -> DomainHealth:
    base = DomainHealth(domain, "current", f"{domain}: within SLO", NOW - timedelta(minutes=3),
                        3.0, 10_000, 0, 0, 0)
    return replace(base, **changes)


def fresh(domain: str, status: str = "pass", minutes: float = 3) -> tuple:
    uid = f"source.syncgov.{domain}_system.{domain}_events"
    return (uid, SourceFreshness(uid, status, minutes * 60, "60 minute"))


def passing(spec: ExportSpec, **changes) -> GateInputs:
    base = GateInputs(
        spec=spec,
        evaluated_at=NOW,
        model_run=NodeRun("success", None),
        model_columns=frozenset(spec.columns),
        tests=(DbtTest(f"test.syncgov.unique_{spec.model}_key.1a2b", NodeRun("pass", None)),
               DbtTest(f"unit_test.syncgov.{spec.model}.logic", NodeRun("pass", None))),
        domains=tuple(UpstreamDomain(d, DOMAINS[d], health(d), (fresh(d),)) for d in spec.domains),
        rows_current=1000,
        rows_previous=1000,
    )
    return replace(base, **changes)


def with_domain(inputs: GateInputs, name: str, **changes) -> GateInputs:
    """The inputs with one upstream domain's health (or `sources`) changed."""
    sources = changes.pop("sources", None)
    domains = tuple(
        replace(d, health=replace(d.health, **changes),
                sources=d.sources if sources is None else sources) if d.name == name else d
        for d in inputs.domains)
    return replace(inputs, domains=domains)


def manifest(spec: ExportSpec, inputs: GateInputs | None = None,
             batch: Batch | None = None) -> dict[str, Any]:
    """A manifest as `syncgov export` writes it, for the given (default: passing) inputs."""
    inputs = inputs or passing(spec)
    gate = evaluate(inputs)
    batch = batch or plan_batch(spec.export_id, spec.cursor, None,
                                ModelStats(True, inputs.rows_current, NOW - timedelta(minutes=2)),
                                inputs.rows_current)
    return build_manifest(
        spec=spec, inputs=inputs, gate=gate, batch=batch,
        lineage=Lineage(spec.domains, tuple(s for d in inputs.domains for s, _ in d.sources),
                        (f"model.syncgov.{spec.domain}_state",), ()),
        teams=REGISTRY["teams"].data["teams"],
        relation=f'"syncgov"."exports"."{spec.model}"', schema_name="exports", alias=spec.model,
        unique_id=f"model.syncgov.{spec.model}", next_run_at=NOW + timedelta(minutes=3),
        invocation_id="0000-test", run_results_generated_at=NOW - timedelta(minutes=5),
        sources_generated_at=NOW - timedelta(minutes=4))
