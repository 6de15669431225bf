"""What the registry declares about an export, resolved into plain typed values.

The registry YAML stays the single source of truth; this module only reads it once and
resolves every mapped field to its domain, owning system and classification, so the gate,
the manifest and the renderers never look up the same thing three ways.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from governance.registry import RegistryFile
from governance.registry.model import RegistryModel, model_of, parse_field_ref

Registry = dict[str, RegistryFile]

DEFAULT_CURSOR = "_changed_at"
DEFAULT_DEGRADED_SCHEDULE = "0 * * * *"
# The target field the change timestamp is written to: targets see how current each row is.
CHANGE_TIMESTAMP_FIELD = "syncgov_changed_at"
# The target column a soft delete sets when the export names none.
DEFAULT_SOFT_DELETE_COLUMN = "syncgov_deleted_at"


@dataclass(frozen=True)
class FieldSpec:
    """One mapped field: model column -> target field, and what the registry says about it."""

    target_field: str
    domain: str
    field: str
    owner: str | None  # None when the domain does not declare the field (SG505)
    classification: str | None

    @property
    def column(self) -> str:
        """The export model's column: the registry field name."""
        return self.field


@dataclass(frozen=True)
class GatePolicy:
    max_quarantine_ratio: float = 0.01
    max_row_change_ratio: float = 0.5
    require_upstream_fresh: bool = True
    require_lint_clean: bool = True
    max_unreconciled_batches: int = 0
    max_open_conflicts: int | None = None  # None: open conflicts warn, never block
    allow_mass_delete: bool = False


@dataclass(frozen=True)
class ErrorPolicy:
    max_failed_pct: float = 0.0
    retries: int = 3
    dead_letter: bool = True


@dataclass(frozen=True)
class DomainSpec:
    name: str
    system_of_record: str
    slo_minutes: int
    cadence: str
    degradation: str
    last_reviewed: date
    review_cycle_days: int

    @property
    def next_review_due(self) -> date:
        return self.last_reviewed + timedelta(days=self.review_cycle_days)


@dataclass(frozen=True)
class ExportSpec:
    export_id: str
    description: str
    domain: str
    model: str
    target_system: str
    target_object: str
    target_clearance: str | None
    key_owner: str | None  # the system of record of the export's domain
    key: tuple[tuple[str, str], ...]  # (model column, target field)
    fields: tuple[FieldSpec, ...]
    mode: str
    schedule: str
    degraded_schedule: str
    cursor: str
    gate: GatePolicy
    error_policy: ErrorPolicy
    owners: dict[str, str]
    key_fields: tuple[FieldSpec, ...] = ()  # the key columns, classified like fields
    managed: bool = False  # syncgov creates the target table from the model's contract
    on_delete: str = "ignore"  # delete | soft_delete | ignore (a mirror always deletes)
    soft_delete_column: str | None = None

    @property
    def domains(self) -> tuple[str, ...]:
        """The export's domain and every other domain a mapped field comes from."""
        return tuple(dict.fromkeys([self.domain, *(f.domain for f in self.fields)]))

    @property
    def delete_behaviour(self) -> str:
        return "delete" if self.mode == "mirror" else self.on_delete

    @property
    def columns(self) -> tuple[str, ...]:
        """Every model column the export sends, key first, the cursor last."""
        return (*(c for c, _ in self.key), *(f.column for f in self.fields), self.cursor)

    def target_of(self, column: str) -> str:
        """The target field a model column is written to."""
        for col, target in self.key:
            if col == column:
                return target
        for f in self.fields:
            if f.column == column:
                return f.target_field
        if column == self.cursor:
            return CHANGE_TIMESTAMP_FIELD
        raise KeyError(column)


def _field_spec(export: dict, target_field: str, ref: str, model: RegistryModel) -> FieldSpec:
    domain, field = parse_field_ref(ref, export["domain"])
    spec = model.domains[domain].fields.get(field) if domain in model.domains else None
    return FieldSpec(target_field, domain, field, spec.owner if spec else None,
                     spec.classification if spec else None)


def _key_spec(name: str, column: str, target_field: str, model: RegistryModel) -> FieldSpec:
    domain, owner, classification = model.exports[name].key_origin(model, column)
    return FieldSpec(target_field, domain, column, owner, classification)


def _on_delete(export: dict) -> dict[str, Any]:
    behaviour = export.get("on_delete", "ignore")
    column = export.get("soft_delete_column", DEFAULT_SOFT_DELETE_COLUMN)
    return {"on_delete": behaviour,
            "soft_delete_column": column if behaviour == "soft_delete" else None}


def export_specs(registry: Registry) -> list[ExportSpec]:
    """Every export of the registry, in declaration order."""
    domains = registry["domains"].data["domains"]
    systems = registry["systems"].data["systems"]
    model = model_of(registry)
    specs = []
    for name, export in registry["exports"].data["exports"].items():
        target = export["target"]
        gate: dict[str, Any] = dict(export.get("gate") or {})
        errors: dict[str, Any] = dict(export.get("error_policy") or {})
        specs.append(ExportSpec(
            export_id=name,
            description=export.get("description", ""),
            domain=export["domain"],
            model=export["model"],
            target_system=target["system"],
            target_object=target["object"],
            target_clearance=(systems.get(target["system"]) or {}).get("clearance"),
            key_owner=(domains.get(export["domain"]) or {}).get("system_of_record"),
            key=tuple(export["key"].items()),
            fields=tuple(_field_spec(export, t, ref, model) for t, ref in export["fields"].items()),
            mode=export["mode"],
            schedule=export["schedule"],
            degraded_schedule=export.get("degraded_schedule", DEFAULT_DEGRADED_SCHEDULE),
            cursor=export.get("cursor", DEFAULT_CURSOR),
            gate=GatePolicy(**gate),
            error_policy=ErrorPolicy(**errors),
            owners=dict(export["owners"]),
            key_fields=tuple(_key_spec(name, c, t, model) for c, t in export["key"].items()),
            managed=bool(target.get("managed", False)),
            **_on_delete(export),
        ))
    return specs


def domain_specs(registry: Registry) -> dict[str, DomainSpec]:
    return {
        name: DomainSpec(
            name=name,
            system_of_record=d["system_of_record"],
            slo_minutes=int(d["slo_minutes"]),
            cadence=d["cadence"],
            degradation=d["degradation"],
            last_reviewed=date.fromisoformat(str(d["last_reviewed"])),
            review_cycle_days=int(d["review_cycle_days"]),
        )
        for name, d in registry["domains"].data["domains"].items()
    }
