"""Bind an export's gate to its own evidence: for the export model and each upstream state
model, who built the rows, the latest completed result of the model and its tests, and the SLO
that evidence must be younger than (DESIGN.md §6, invariant 7)."""

from __future__ import annotations

from collections.abc import Iterable

from governance.exports.artifacts import DbtArtifacts
from governance.exports.gates import DbtTest, ModelEvidence
from governance.exports.spec import DomainSpec


def model_evidence(models: Iterable[str], artifacts: DbtArtifacts,
                   domains: dict[str, DomainSpec]) -> tuple[ModelEvidence, ...]:
    out = []
    for model in sorted(models):
        slos = [domains[d].slo_minutes for d in artifacts.domains_of(model) if d in domains]
        out.append(ModelEvidence(
            unique_id=model,
            built=artifacts.builds.get(model),
            run=artifacts.runs.get(model),
            tests=tuple(dbt_test(t, artifacts) for t in artifacts.tests_on({model})),
            slo_minutes=min(slos, default=None),
        ))
    return tuple(out)


def dbt_test(unique_id: str, artifacts: DbtArtifacts) -> DbtTest:
    """A test with its latest result, its cost and its latest full-table result."""
    return DbtTest(unique_id, artifacts.runs.get(unique_id), artifacts.test_cost(unique_id),
                   artifacts.full_runs.get(unique_id))
