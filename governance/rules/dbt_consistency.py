"""The dbt project against the registry: nodes exist, freshness fits the SLO, keys are tested."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from governance.findings import Severity
from governance.rules import Manifest, Registry, Violation, rule

PERIOD_MINUTES = {"minute": 1, "hour": 60, "day": 1440}


def _all_nodes(manifest: Manifest) -> dict:
    return {**manifest.get("nodes", {}), **manifest.get("sources", {})}


def _package(manifest: Manifest) -> str:
    return manifest.get("metadata", {}).get("project_name") or "syncgov"


def _source_line(manifest: Manifest, source: dict) -> tuple[Path, int]:
    """The file of a dbt source table and the line of its `- name:` entry."""
    path = Path(manifest["_project_dir"]) / source["original_file_path"]
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return path, 1
    pattern = re.compile(rf"^\s*-\s*name:\s*{re.escape(source['name'])}\s*$")
    return path, next((i for i, line in enumerate(lines, 1) if pattern.match(line)), 1)


def _change_log_sources(manifest: Manifest) -> list[dict]:
    """Landing tables that carry a domain's change events (`meta.domain` on the source)."""
    return [s for s in manifest.get("sources", {}).values() if (s.get("meta") or {}).get("domain")]


@rule("SG601", Severity.ERROR, "A flow names a dbt node that does not exist", needs_manifest=True)
def flow_nodes_exist(registry: Registry, manifest: Manifest) -> Iterable[Violation]:
    """Every dbt node a flow lists must exist in the project's manifest.

    Why: impact analysis, exposures and export gates follow these ids; a renamed model leaves
    the flow pointing at nothing.
    Fix: update `dbt_nodes` to the current unique ids (see target/manifest.json), or restore
    the node.
    """
    nodes = _all_nodes(manifest)
    # A missing export model is reported once, by SG606 at the export that needs it.
    exports = {f"model.{_package(manifest)}.{e['model']}"
               for e in registry["exports"].data["exports"].values()}
    for name, flow in registry["flows"].data["flows"].items():
        for i, node in enumerate(flow["dbt_nodes"]):
            if node not in nodes and node not in exports:
                yield Violation("flows", ("flows", name, "dbt_nodes", i),
                                f"flow {name!r} names {node!r}, which is not in the dbt manifest")


@rule("SG602", Severity.ERROR, "A landing source's freshness is looser than its domain's SLO",
      needs_manifest=True)
def freshness_within_slo(registry: Registry, manifest: Manifest) -> Iterable[Violation]:
    """Each landing source needs freshness whose error threshold is no looser than the SLO.

    Why: `dbt source freshness` is what pages people; a threshold above the SLO means the SLO
    is breached long before anybody hears of it.
    Fix: set `error_after` to at most the domain's `slo_minutes` in the source's YAML.
    """
    domains = registry["domains"].data["domains"]
    for source in _change_log_sources(manifest):
        domain = domains.get(source["meta"]["domain"])
        if domain is None:
            continue
        freshness = source.get("freshness") or {}
        error = freshness.get("error_after") or {}
        path, line = _source_line(manifest, source)
        label = f"{source['source_name']}.{source['name']}"
        if error.get("count") is None:
            yield Violation("dbt", (), f"source {label} has no freshness error_after; the"
                            f" {source['meta']['domain']} SLO is {domain['slo_minutes']} min",
                            file=path, line=line)
            continue
        minutes = error["count"] * PERIOD_MINUTES.get(error.get("period", "minute"), 1)
        if minutes > domain["slo_minutes"]:
            yield Violation("dbt", (), f"source {label} errors after {minutes} min, looser than"
                            f" the {domain['slo_minutes']}-min SLO of {source['meta']['domain']}",
                            file=path, line=line)


@rule("SG603", Severity.ERROR, "A landing source is not claimed by any flow", needs_manifest=True)
def sources_claimed_by_flows(registry: Registry, manifest: Manifest) -> Iterable[Violation]:
    """Every landing table of a domain must belong to a declared flow.

    Why: an unclaimed table has no owner, cadence or SLO in the registry, so no schedule,
    health status or gate ever looks at it.
    Fix: add a flow listing the source's unique id in `dbt_nodes`.
    """
    claimed = {n for flow in registry["flows"].data["flows"].values() for n in flow["dbt_nodes"]}
    for source in _change_log_sources(manifest):
        if source["unique_id"] not in claimed:
            path, line = _source_line(manifest, source)
            yield Violation("dbt", (), f"source {source['unique_id']} is not claimed by any flow",
                            file=path, line=line)


@rule("SG604", Severity.ERROR, "A landing source has no loaded_at_field or loaded_at_query",
      needs_manifest=True)
def sources_have_loaded_at(registry: Registry, manifest: Manifest) -> Iterable[Violation]:
    """Freshness must be computed from data, not from warehouse metadata.

    Why: DuckDB has no metadata-based freshness, and on Snowflake a table's last-altered time
    moves when a load starts, so it looks fresh halfway through. The ledger is the truth.
    Fix: set `loaded_at_query` to the newest successful batch in landing.sync_batches.
    """
    for source in _change_log_sources(manifest):
        if not (source.get("loaded_at_query") or source.get("loaded_at_field")):
            path, line = _source_line(manifest, source)
            yield Violation("dbt", (), f"source {source['source_name']}.{source['name']} has no"
                            " loaded_at_query or loaded_at_field", file=path, line=line)


@rule("SG605", Severity.ERROR, "A state or export model's key is not covered by data tests",
      needs_manifest=True)
def keys_have_data_tests(registry: Registry, manifest: Manifest) -> Iterable[Violation]:
    """State and export models need `unique` and `not_null` data tests on their key.

    Why: DuckDB enforces primary keys, Snowflake does not; a key guarded only by a constraint
    is unguarded in production. Data tests hold on both engines.
    Fix: add `data_tests: [unique, not_null]` to the key column in the model's YAML.
    """
    tested: dict[tuple[str, str], set[str]] = {}
    for node in manifest.get("nodes", {}).values():
        meta = node.get("test_metadata") or {}
        if node["resource_type"] == "test" and node.get("attached_node") and node.get("column_name"):
            tested.setdefault((node["attached_node"], node["column_name"]), set()).add(meta.get("name"))
    # the key of a state model is its unique_key; an export model's is its key in exports.yml
    export_keys = {f"model.{_package(manifest)}.{e['model']}": list(e["key"])
                   for e in registry["exports"].data["exports"].values()}
    for node in manifest.get("nodes", {}).values():
        if node["resource_type"] != "model":
            continue
        keys = export_keys.get(node["unique_id"])
        if keys is None:
            key = node["config"].get("unique_key")
            if "state" not in node["fqn"] or not isinstance(key, str):
                continue
            keys = [key]
        for key in keys:
            # a composite key is unique only as a whole; each column must still be present
            wanted = {"unique", "not_null"} if len(keys) == 1 else {"not_null"}
            missing = wanted - tested.get((node["unique_id"], key), set())
            if missing:
                path = Path(manifest["_project_dir"]) / node["original_file_path"]
                guards = _key_constraints(node, key)
                note = (f" (its {' and '.join(guards)} constraint holds on DuckDB only:"
                        " Snowflake does not enforce it)" if guards else "")
                yield Violation("dbt", (), f"model {node['name']} key {key!r} lacks data tests:"
                                f" {', '.join(sorted(missing))}{note}", file=path, line=1)


def _key_constraints(node: dict, key: str) -> list[str]:
    """Constraint types declared on `key`, on the column or at model level."""
    column = (node.get("columns") or {}).get(key) or {}
    found = [c.get("type") for c in column.get("constraints") or []]
    found += [c.get("type") for c in node.get("constraints") or []
              if key in (c.get("columns") or [])]
    return sorted({t for t in found if t in ("primary_key", "unique", "not_null")})


@rule("SG606", Severity.WARNING, "An export's dbt model does not exist (yet)", needs_manifest=True)
def export_models_exist(registry: Registry, manifest: Manifest) -> Iterable[Violation]:
    """Every export in exports.yml reads a dbt model that exists in the manifest.

    Why: the export gate, the exposures `syncgov generate` writes and the reverse-ETL
    renderings all point at this model; without it the export cannot run, and any
    hand-wired replacement would bypass the gate.
    A warning, not an error: an export declared ahead of its model cannot run (its gate
    blocks it), so nothing unsafe happens, but the declaration is not yet true.
    Fix: build the model under models/exports/ (with `unique` and `not_null` tests on its
    key), or correct `model` in exports.yml.
    """
    package = _package(manifest)
    nodes = manifest.get("nodes", {})
    for name, export in registry["exports"].data["exports"].items():
        if f"model.{package}.{export['model']}" not in nodes:
            yield Violation("exports", ("exports", name, "model"),
                            f"export {name!r} reads model {export['model']!r}, which is not in"
                            f" the dbt manifest: add models/exports/{export['model']}.sql")
