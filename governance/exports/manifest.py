"""Export manifests: one JSON document per export, and an index, in the published format
(governance/schemas/export-manifest.v1.json, export-manifest-index.v1.json).

A manifest is the whole contract a reverse-ETL tool needs: identity and ownership, the source
relation and key, the destination and field mapping, mode and delete behaviour, schedule,
error policy, the batch and watermark to fetch, row counts, lineage, the freshness boundary
and the gate verdict with its reasons. Renderers read manifests, nothing else.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from governance.errors import InputError
from governance.exports.batch import Batch
from governance.exports.gates import CheckResult, GateInputs, GateResult
from governance.exports.spec import ExportSpec

MANIFEST_VERSION = 1
SCHEMA_FILE = "export-manifest.v1.json"
INDEX_SCHEMA_FILE = "export-manifest-index.v1.json"
SCHEMA_ID = f"https://syncgov.dev/schemas/{SCHEMA_FILE}"
INDEX_SCHEMA_ID = f"https://syncgov.dev/schemas/{INDEX_SCHEMA_FILE}"


def iso(moment: datetime | None) -> str | None:
    """UTC timestamps as ISO 8601 with a trailing Z (the warehouse holds them zone-less)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=None).isoformat() + "Z"


@cache
def schema(name: str = SCHEMA_FILE) -> dict[str, Any]:
    return json.loads(resources.files("governance.schemas").joinpath(name).read_text())


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with every local `$ref` replaced by its definition (no cycles here)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    # Resolving a $ref per check and timestamp was half of a 500-export run; validate against
    # the same schema with its definitions inlined (the published file keeps them shared).
    published = schema(name)
    return jsonschema.Draft202012Validator(
        _inline(published, published.get("$defs", {})),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def validation_errors(document: dict[str, Any], name: str = SCHEMA_FILE) -> list[str]:
    """Schema violations of a manifest (or, with INDEX_SCHEMA_FILE, of an index)."""
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in _validator(name).iter_errors(document)]


@dataclass(frozen=True)
class Lineage:
    domains: tuple[str, ...]
    sources: tuple[str, ...]
    models: tuple[str, ...]
    flows: tuple[str, ...]


def check_json(check: CheckResult) -> dict[str, Any]:
    return {
        "check": check.check,
        "status": check.status,
        "observed": check.observed,
        "threshold": check.threshold,
        "message": check.message,
        "domain": check.domain,
        "action": check.action,
        "retry_at": iso(check.retry_at),
    }


def _team(teams: dict, name: str, role: str) -> dict[str, Any]:
    team = teams.get(name) or {}
    return {
        "team": name,
        "channel": team.get("channel"),
        "contacts": [m["email"] for m in team.get("members", []) if role in m.get("roles", [])],
    }


def _owners(spec: ExportSpec, teams: dict) -> dict[str, Any]:
    steward_team = spec.owners.get("steward")
    if steward_team is None and any(
            "steward" in m.get("roles", [])
            for m in (teams.get(spec.owners["business"]) or {}).get("members", [])):
        steward_team = spec.owners["business"]
    return {
        "technical": _team(teams, spec.owners["technical"], "technical_owner"),
        "business": _team(teams, spec.owners["business"], "business_owner"),
        "steward": _team(teams, steward_team, "steward") if steward_team else None,
    }


def _escalation(spec: ExportSpec, teams: dict) -> list[dict[str, Any]]:
    path: list[dict[str, Any]] = []
    for name in dict.fromkeys((spec.owners["technical"], spec.owners["business"])):
        for step in (teams.get(name) or {}).get("escalation", []):
            path.append({"team": name, "contact": step["contact"],
                         "within_minutes": int(step["within_minutes"])})
    return path


def _fields(spec: ExportSpec) -> list[dict[str, Any]]:
    by_column = {**{f.column: f for f in spec.key_fields}, **{f.column: f for f in spec.fields}}
    key_columns = {c for c, _ in spec.key}
    rows = []
    for column in spec.columns:
        role = ("key" if column in key_columns else
                "change_timestamp" if column == spec.cursor else "field")
        f = by_column.get(column)
        rows.append({
            "source_column": column,
            "target_field": spec.target_of(column),
            "role": role,
            "domain": f.domain if f else (spec.domain if role == "key" else None),
            "field": f.field if f else (column if role == "key" else None),
            "owner_system": (f.owner if f else "warehouse" if role == "change_timestamp"
                             else spec.key_owner),
            # the change timestamp is warehouse metadata; a key or field without a declared
            # classification stays null (the gate blocks it), never a default
            "classification": (f.classification if f else
                               "internal" if role == "change_timestamp" else None),
        })
    return rows


def build_manifest(
    *,
    spec: ExportSpec,
    inputs: GateInputs,
    gate: GateResult,
    batch: Batch,
    lineage: Lineage,
    teams: dict,
    relation: str | None,
    schema_name: str | None,
    alias: str | None,
    unique_id: str,
    next_run_at: datetime | None,
    invocation_id: str | None,
    run_results_generated_at: datetime | None,
    sources_generated_at: datetime | None,
) -> dict[str, Any]:
    now = inputs.evaluated_at
    domains = {d.name: d for d in inputs.domains}
    freshness_domains = []
    for name in lineage.domains:
        d = domains.get(name)
        health = d.health if d else None
        last = health.last_success_at if health else None
        freshness_domains.append({
            "domain": name,
            "status": health.status if health else "unknown",
            "reason": health.reason if health else None,
            "last_success_at": iso(last),
            "staleness_minutes": round((now - last).total_seconds() / 60, 1) if last else None,
            "slo_minutes": d.spec.slo_minutes if d and d.spec else None,
            "degradation": d.spec.degradation if d and d.spec else None,
            "sources": [{
                "source": uid.split(".", 2)[-1],
                "status": r.status if r else "not checked",
                "age_minutes": (round(r.age_seconds / 60, 1)
                                if r and r.age_seconds is not None else None),
                "error_after": r.error_after if r else None,
            } for uid, r in (d.sources if d else ())],
        })
    known = [(f["last_success_at"], f["domain"]) for f in freshness_domains if f["last_success_at"]]
    boundary = min(known) if known else (None, None)
    previous = inputs.rows_previous
    reviews = []
    for name in lineage.domains:
        d = domains.get(name)
        if d and d.spec:
            due: date = d.spec.next_review_due
            reviews.append({"domain": name, "last_reviewed": d.spec.last_reviewed.isoformat(),
                            "review_cycle_days": d.spec.review_cycle_days,
                            "next_review_due": due.isoformat(), "overdue": due < now.date()})
    return {
        "$schema": SCHEMA_ID,
        "manifest_version": MANIFEST_VERSION,
        "export_id": spec.export_id,
        "description": spec.description,
        "generated_at": iso(now),
        "owners": _owners(spec, teams),
        "escalation": _escalation(spec, teams),
        "review": reviews,
        "source": {
            "dbt_unique_id": unique_id,
            "relation": relation,
            "schema": schema_name,
            "name": alias,
            "primary_key": [c for c, _ in spec.key],
            "cursor_column": spec.cursor,
        },
        "destination": {
            "system": spec.target_system,
            "object": spec.target_object,
            "match_key": [{"source_column": c, "target_field": t} for c, t in spec.key],
            "mode": spec.mode,
            "delete_behaviour": spec.delete_behaviour,
            "soft_delete_column": spec.soft_delete_column,
            "managed": spec.managed,
            "clearance": spec.target_clearance,
            "max_delete_pct": (min(100.0, round(spec.gate.max_row_change_ratio * 100, 2))
                               if spec.mode == "mirror" and not spec.gate.allow_mass_delete
                               else None),
        },
        "fields": _fields(spec),
        "schedule": {
            "cron": spec.schedule,
            "effective_cron": gate.effective_schedule,
            "degraded": gate.degraded,
            "timezone": "UTC",
            "next_run_at": iso(next_run_at),
        },
        "error_policy": {
            "max_failed_pct": spec.error_policy.max_failed_pct,
            "retries": spec.error_policy.retries,
            "dead_letter": spec.error_policy.dead_letter,
        },
        "batch": {
            "batch_id": batch.batch_id,
            "idempotency_key": batch.idempotency_key,
            "watermark_column": batch.watermark_column,
            "watermark_from": iso(batch.watermark_from),
            "watermark_to": iso(batch.watermark_to),
            "rows_in_batch": batch.rows_in_batch,
            "empty": batch.empty,
        },
        "row_counts": {
            "current": inputs.rows_current,
            "previous": previous,
            "delta": None if previous is None else inputs.rows_current - previous,
            "delta_pct": (round((inputs.rows_current - previous) / previous * 100, 2)
                          if previous else None),
        },
        "lineage": {"domains": list(lineage.domains), "sources": list(lineage.sources),
                    "models": list(lineage.models), "flows": list(lineage.flows)},
        "freshness": {
            "as_of": iso(now),
            "boundary": boundary[0],
            "stalest_domain": boundary[1],
            "domains": freshness_domains,
        },
        "gate": {
            "verdict": gate.verdict,
            "evaluated_at": iso(now),
            "reasons": [check_json(c) for c in gate.reasons],
            "checks": [check_json(c) for c in gate.checks],
            "retry_at": iso(gate.retry_at),
            "held_for": list(gate.held_for),
        },
        "artifacts": {
            "dbt_invocation_id": invocation_id,
            "run_results_generated_at": iso(run_results_generated_at),
            "sources_generated_at": iso(sources_generated_at),
        },
    }


def write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file and a rename, so a reader (a reverse-ETL tool polling
    the folder) never sees half a manifest."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text)
        os.replace(temporary, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror})") from exc


def write_json(path: Path, document: dict[str, Any]) -> None:
    write_atomically(path, json.dumps(document, indent=2) + "\n")
