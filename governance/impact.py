"""What depends on a domain or a source: downstream dbt models, history, exposures and tests
from the manifest's lineage (`child_map`), and the exports and outbound flows the registry
declares on top of them.

A target is a registry domain (`customer`), a source system (`crm`), a landing table
(`crm__accounts`) or a dbt source (`crm.accounts`, `source.syncgov.crm.accounts`).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from governance.errors import InputError, UsageError
from governance.export_verdicts import export_domains
from governance.registry import RegistryFile
from governance.registry.loader import paused_gc
from governance.registry.model import Flow, model_of

Registry = dict[str, RegistryFile]
Manifest = dict[str, Any]
NO_MANIFEST_HINT = "run `dbt parse` (or `make demo`) first"


@dataclass(frozen=True)
class Node:
    unique_id: str
    resource_type: str
    name: str
    layer: str  # models: staging / state / control / exports …; others: their resource type
    relation: str | None
    label: str | None = None  # exposures: their label; others: None
    exposure_type: str | None = None


@dataclass(frozen=True)
class DeclaredExport:
    export_id: str
    model: str
    target: str
    why: str  # "reads model exp_… (downstream)" or "carries fields of domain …"


@dataclass(frozen=True)
class Impact:
    target: str
    kind: str  # domain, system, landing_table, source
    domains: tuple[str, ...]
    sources: tuple[str, ...]
    models: tuple[Node, ...]
    history: tuple[Node, ...]  # the history models (models/history/) and any dbt snapshots
    exposures: tuple[Node, ...]
    tests: int
    exports: tuple[DeclaredExport, ...]
    outbound_flows: tuple[str, ...]

    @property
    def dashboards(self) -> tuple[Node, ...]:
        return tuple(e for e in self.exposures if e.exposure_type in ("dashboard", "analysis"))

    def to_json(self) -> dict[str, Any]:
        def node(n: Node) -> dict[str, Any]:
            return {k: v for k, v in n.__dict__.items() if v is not None}
        return {
            "target": self.target, "kind": self.kind, "domains": list(self.domains),
            "sources": list(self.sources),
            "models": [node(n) for n in self.models],
            "history": [node(n) for n in self.history],
            "exposures": [node(n) for n in self.exposures],
            "tests": self.tests,
            "exports": [e.__dict__ for e in self.exports],
            "outbound_flows": list(self.outbound_flows),
        }


def read_manifest(project_dir: Path) -> Manifest:
    """target/manifest.json of the dbt project; InputError when missing or unreadable."""
    path = project_dir / "target" / "manifest.json"
    if not path.is_file():
        raise InputError(f"{path}: no dbt manifest; {NO_MANIFEST_HINT}")
    try:
        with paused_gc():
            manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read the dbt manifest ({exc}); {NO_MANIFEST_HINT}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("child_map"), dict):
        raise InputError(f"{path}: not a dbt manifest with a `child_map`; {NO_MANIFEST_HINT}")
    return manifest


def _inbound_flows(registry: Registry) -> dict[str, Flow]:
    return {name: flow for name, flow in model_of(registry).flows.items() if flow.inbound}


def _flow_sources(flow: Flow) -> list[str]:
    return [n for n in flow.dbt_nodes if n.startswith("source.")]


def resolve_target(target: str, registry: Registry, manifest: Manifest) -> tuple[str, list[str], list[str]]:
    """(kind, start source nodes, domains) for a target; UsageError naming the valid forms."""
    flows = _inbound_flows(registry)
    sources = manifest.get("sources", {})
    if target in registry["domains"].data["domains"]:
        starts = [s for f in flows.values() if f.domain == target for s in _flow_sources(f)]
        return "domain", starts, [target]
    if target in registry["systems"].data["systems"]:
        picked = [f for f in flows.values() if f.source == target]
        starts = [s for f in picked for s in _flow_sources(f)]
        return "system", starts, sorted({f.domain for f in picked})
    candidates = {target, f"source.{target}"}
    if "__" in target:
        system, _, table = target.partition("__")
        candidates.add(f"{system}.{table}")
    matches = [uid for uid, s in sources.items()
               if uid in candidates or f"{s.get('source_name')}.{s.get('name')}" in candidates
               or (s.get("source_name") == "landing" and s.get("name") == target)]
    if matches:
        domains = sorted({f.domain for f in flows.values()
                          if set(_flow_sources(f)) & set(matches)})
        kind = "landing_table" if "__" in target else "source"
        return kind, sorted(matches), domains
    known = ", ".join(sorted(registry["domains"].data["domains"]))
    raise UsageError(f"{target!r} is neither a domain ({known}), a system, a landing table"
                     " (crm__accounts) nor a dbt source (crm.accounts)")


def _descendants(manifest: Manifest, starts: list[str]) -> list[str]:
    children = manifest["child_map"]
    seen: set[str] = set(starts)
    order: list[str] = []
    queue = deque(starts)
    while queue:
        for child in children.get(queue.popleft(), ()):
            if child not in seen:
                seen.add(child)
                order.append(child)
                queue.append(child)
    return order


def _node(manifest: Manifest, uid: str) -> Node:
    entry = (manifest.get("nodes", {}).get(uid) or manifest.get("exposures", {}).get(uid)
             or manifest.get("sources", {}).get(uid) or {})
    kind = entry.get("resource_type") or uid.split(".", 1)[0]
    fqn = entry.get("fqn") or []
    layer = fqn[1] if kind == "model" and len(fqn) > 2 else kind
    relation = None
    if entry.get("schema") and kind in ("model", "snapshot", "seed"):
        relation = f"{entry['schema']}.{entry.get('alias') or entry.get('name')}"
    return Node(uid, kind, entry.get("name") or uid.rsplit(".", 1)[-1], layer, relation,
                entry.get("label") if kind == "exposure" else None,
                entry.get("type") if kind == "exposure" else None)


def impact(target: str, registry: Registry, manifest: Manifest) -> Impact:
    """Everything downstream of `target` in the dbt lineage and the registry."""
    kind, starts, domains = resolve_target(target, registry, manifest)
    nodes = [_node(manifest, uid) for uid in _descendants(manifest, starts)]
    by_type: dict[str, list[Node]] = {}
    for n in nodes:
        by_type.setdefault(n.resource_type, []).append(n)
    layer_order = {"staging": 0, "state": 1, "control": 2, "exports": 3}
    history = [n for n in by_type.get("model", []) if n.layer == "history"]
    history += by_type.get("snapshot", [])
    models = sorted((n for n in by_type.get("model", []) if n.layer != "history"),
                    key=lambda n: (layer_order.get(n.layer, 9), n.name))
    model_names = {n.name for n in models}
    exports = []
    for export_id, spec in registry["exports"].data["exports"].items():
        target_name = f"{spec['target']['system']}.{spec['target']['object']}"
        if spec["model"] in model_names:
            exports.append(DeclaredExport(export_id, spec["model"], target_name,
                                          f"reads model {spec['model']}, downstream"))
            continue
        shared = [d for d in export_domains(spec) if d in domains]
        if shared:
            exports.append(DeclaredExport(export_id, spec["model"], target_name,
                                          "carries fields of domain " + ", ".join(shared)))
    touched = {n.unique_id for n in nodes}
    # an affected export's model is touched even before it exists in the manifest
    touched |= {f"model.{manifest.get('metadata', {}).get('project_name', 'syncgov')}.{e.model}"
                for e in exports}
    outbound = sorted(
        name for name, flow in model_of(registry).flows.items()
        if flow.source == "warehouse"
        and (set(flow.dbt_nodes) & touched or flow.domain in domains)
    )
    return Impact(
        target=target,
        kind=kind,
        domains=tuple(domains),
        sources=tuple(starts),
        models=tuple(models),
        history=tuple(sorted(history, key=lambda n: n.name)),
        exposures=tuple(sorted(by_type.get("exposure", []), key=lambda n: n.name)),
        tests=len(by_type.get("test", [])) + len(by_type.get("unit_test", [])),
        exports=tuple(exports),
        outbound_flows=tuple(outbound),
    )


def render_text(result: Impact) -> str:
    lines = [f"impact of {result.kind} {result.target!r}"
             + (f" (domains: {', '.join(result.domains)})" if result.domains else "")]
    lines.append("  sources: " + (", ".join(s.removeprefix("source.") for s in result.sources)
                                  or "none"))
    by_layer: dict[str, list[Node]] = {}
    for n in result.models:
        by_layer.setdefault(n.layer, []).append(n)
    lines.append(f"  models ({len(result.models)}):")
    for layer, models in by_layer.items():
        lines.append(f"    {layer}: " + ", ".join(m.name for m in models))
    lines.append(f"  history ({len(result.history)}): "
                 + (", ".join(s.name for s in result.history) or "none"))
    lines.append(f"  exposures ({len(result.exposures)}): " + (", ".join(
        f"{e.name} ({e.exposure_type}{': ' + e.label if e.label else ''})"
        for e in result.exposures) or "none"))
    lines.append(f"  exports ({len(result.exports)}):")
    lines += [f"    {e.export_id} → {e.target}: {e.why}" for e in result.exports] or ["    none"]
    lines.append("  outbound flows: " + (", ".join(result.outbound_flows) or "none"))
    lines.append(f"  data tests downstream: {result.tests}")
    return "\n".join(lines) + "\n"
