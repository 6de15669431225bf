"""A domain as an Open Data Contract Standard (ODCS) v3 document.

The schema object is the domain's state table (one row per business key) as the warehouse
holds it, column by column with its type: the registry's fields with their classification
and owning system, the business key, and the sync metadata columns (descriptions from the
dbt manifest when there is one). Team and support channels come from the owning teams
and their escalation path; SLA properties carry the latency SLO and the cadence; review
dates, tier and policies are custom properties. The JSON Schema is the one the
`open-data-contract-standard` package publishes with its models.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from governance.errors import InputError
from governance.owners import Owners, domain_owners
from governance.registry import RegistryFile
from governance.registry.model import model_of

Registry = dict[str, RegistryFile]
API_VERSION = "v3.2.0"
CONTRACT_VERSION = "1.0.0"
# Sync metadata every state row carries (DESIGN §6), with a description when dbt has none.
METADATA_COLUMNS: dict[str, str] = {
    "_is_deleted": "True when the latest event of the system of record is a delete.",
    "_source_system": "System that sent the row's latest change.",
    "_source_event_at": "When that change happened in the source (UTC).",
    "_loaded_at": "When that change landed in the warehouse (UTC).",
    "_sync_batch_id": "Loader batch that delivered that change.",
    "_applied_at": "When the row was last changed in the warehouse (UTC).",
}


@cache
def schema() -> dict[str, Any]:
    """The official ODCS JSON Schema shipped by the `open-data-contract-standard` package."""
    text = resources.files("open_data_contract_standard").joinpath("schema.json").read_text()
    return json.loads(text)


def validate(document: dict[str, Any]) -> None:
    """InputError listing what violates the ODCS schema (a registry the standard cannot hold)."""
    validator = jsonschema.Draft201909Validator(schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        shown = "; ".join(f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                          for e in errors[:5])
        raise InputError(f"contract {document.get('id')}: not valid ODCS ({shown})")


def _custom(**values: Any) -> list[dict[str, Any]]:
    return [{"property": k, "value": v} for k, v in values.items() if v is not None]


def _state_model(manifest: dict | None, domain: str) -> dict | None:
    if not manifest:
        return None
    return next((n for n in manifest.get("nodes", {}).values()
                 if n.get("resource_type") == "model" and n.get("name") == f"{domain}_state"), None)


def _team(owners: Owners) -> dict[str, Any]:
    members: dict[tuple[str, str], dict[str, Any]] = {}
    for team in (owners.technical, owners.business):
        role_kind = "technical" if team is owners.technical else "business"
        for m in team.members:
            for role in m.roles:
                # the team a member answers for, and their role there
                if (role_kind == "technical" and role == "business_owner") or \
                        (role_kind == "business" and role == "technical_owner"):
                    continue
                members.setdefault((m.email, role), {
                    "username": m.email, "name": m.name, "role": role,
                    "customProperties": _custom(team=team.name)})
    return {
        "name": owners.business.name,
        "description": f"Business owner {owners.business.name}; technical owner"
                       f" {owners.technical.name}.",
        "members": list(members.values()),
        "customProperties": _custom(technicalTeam=owners.technical.name,
                                    businessTeam=owners.business.name),
    }


def _support(owners: Owners) -> list[dict[str, Any]]:
    items = []
    for team in (owners.technical, owners.business):
        if team.channel and not any(i["channel"] == team.channel for i in items):
            items.append({"channel": team.channel, "tool": "slack", "scope": "interactive",
                          "description": f"{team.name} team channel"})
    for team in (owners.technical, owners.business):
        for step, e in enumerate(team.escalation, start=1):
            items.append({"channel": e.contact, "tool": "email", "scope": "issues",
                          "url": f"mailto:{e.contact}",
                          "description": f"{team.name} escalation step {step}: responds within"
                                         f" {e.within_minutes} minutes"})
    return items


def logical_type(data_type: str) -> str:
    """The ODCS logical type of a warehouse column type."""
    t = data_type.upper()
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t == "DATE":
        return "date"
    if t == "BOOLEAN":
        return "boolean"
    if t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "NUMBER(38,0)"):
        return "integer"
    if t.startswith(("DECIMAL", "NUMERIC", "NUMBER", "DOUBLE", "FLOAT", "REAL")):
        return "number"
    return "string"


def _properties(spec: dict, columns: list[tuple[str, str]], model: dict | None,
                ) -> list[dict[str, Any]]:
    """One property per column of the state table, in table order."""
    documented = (model or {}).get("columns", {})
    key = ((model or {}).get("config") or {}).get("unique_key")
    if not isinstance(key, str):  # without a manifest: the first column that is no field
        key = next((c for c, _ in columns if c not in spec["fields"] and not c.startswith("_")),
                   None)
    props: list[dict[str, Any]] = []
    for name, data_type in columns:
        prop: dict[str, Any] = {"name": name, "logicalType": logical_type(data_type),
                                "physicalType": data_type}
        description = (documented.get(name) or {}).get("description")
        field = spec["fields"].get(name)
        if name == key:
            prop |= {"primaryKey": True, "primaryKeyPosition": 1, "required": True,
                     "unique": True}
            description = description or "Business key."
        elif field is not None:
            prop["classification"] = field["classification"]
            prop["customProperties"] = _custom(ownerSystem=field["owner"])
            if field["classification"] == "pii":
                prop["tags"] = ["pii"]
        elif name in METADATA_COLUMNS:
            prop["required"] = True
            prop["tags"] = ["sync-metadata"]
            description = description or METADATA_COLUMNS[name]
        elif name.startswith("_"):
            prop["tags"] = ["sync-metadata"]
        if description:
            prop["description"] = description
        props.append(prop)
    return props


def contract(registry: Registry, domain: str, columns: list[tuple[str, str]],
             manifest: dict | None) -> dict[str, Any]:
    """The ODCS document of one registry domain whose state table has `columns` (name, type)."""
    spec = registry["domains"].data["domains"].get(domain)
    if spec is None:
        raise InputError(f"unknown domain {domain!r}")
    owners = domain_owners(registry, domain)
    model = _state_model(manifest, domain)
    object_name = model["name"] if model else f"{domain}_state"
    schema_object: dict[str, Any] = {
        "name": object_name,
        "physicalName": f"state.{object_name}",
        "physicalType": "table",
        "logicalType": "object",
        "businessName": domain.replace("_", " ").title(),
        "description": spec.get("description", ""),
        "properties": _properties(spec, columns, model),
    }
    slo = int(spec["slo_minutes"])
    latency_element = (f"{object_name}._loaded_at" if any(c == "_loaded_at" for c, _ in columns)
                       else None)
    sla: list[dict[str, Any]] = [{
        "id": "latency", "property": "latency", "value": slo, "unit": "m",
        "driver": "operational",
        "description": f"A change in the source is in the warehouse within {slo} minutes"
                       " (source event time to load time); `syncgov status` reports breaches.",
    }]
    if latency_element:
        sla[0]["element"] = latency_element
    frequency: dict[str, Any] = {"id": "frequency", "property": "frequency",
                                 "value": spec["cadence"], "driver": "operational"}
    if spec["cadence"] == "realtime":
        frequency["description"] = "Streamed continuously."
    else:
        frequency |= {"scheduler": "cron", "schedule": spec["cadence"],
                      "description": f"Synced on the cron schedule `{spec['cadence']}` (UTC)."}
    sla.append(frequency)
    last_reviewed = date.fromisoformat(spec["last_reviewed"])
    return {
        "apiVersion": API_VERSION,
        "kind": "DataContract",
        "id": f"syncgov-{domain}",
        "name": domain,
        "version": CONTRACT_VERSION,
        "status": "active",
        "domain": domain,
        "description": {
            "purpose": spec.get("description", ""),
            "usage": f"System of record: {spec['system_of_record']}. Each field is taken from the"
                     " system that owns it; rows carry their sync metadata.",
            "limitations": f"Conflicts resolve by `{spec['conflict_policy']}`; on failure the"
                           f" sync will `{spec['degradation']}`.",
        },
        "tags": ["syncgov", spec["criticality"]],
        "schema": [schema_object],
        "team": _team(owners),
        "support": _support(owners),
        "slaProperties": sla,
        "customProperties": _custom(
            systemOfRecord=spec["system_of_record"],
            criticality=spec["criticality"],
            conflictPolicy=spec["conflict_policy"],
            degradation=spec["degradation"],
            lastReviewed=last_reviewed.isoformat(),
            reviewCycleDays=int(spec["review_cycle_days"]),
            nextReviewDue=model_of(registry).domains[domain].due_date.isoformat(),
        ),
    }
