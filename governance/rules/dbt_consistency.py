"""The dbt project against the registry: nodes exist, freshness fits the SLO, keys are tested."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path

import sqlglot
from sqlglot import exp

from governance.findings import Severity
from governance.registry.model import Flow, model_of
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


LEDGER = "sync_batches"


def _landing_sources(registry: Registry, manifest: Manifest) -> list[tuple[dict, Flow | None]]:
    """Every dbt source that is a landing table of change events, tagged or not, with the
    flow that claims it: the sources flows name, the ones tagged `meta.domain`, and every other
    table of the `landing` schema except the ledger and full extracts."""
    model = model_of(registry)
    claimed = {n: f for f in model.flows.values() for n in f.dbt_nodes if n.startswith("source.")}
    found = []
    for uid, source in manifest.get("sources", {}).items():
        identifier = source.get("identifier") or source.get("name", "")
        in_landing = str(source.get("schema", "")).lower() == "landing"
        if uid in claimed or (source.get("meta") or {}).get("domain") or (
                in_landing and identifier != LEDGER and not identifier.endswith("__extract")):
            found.append((source, claimed.get(uid)))
    return found


def _flow_slo(registry: Registry, flow: Flow | None, source: dict) -> tuple[int | None, str]:
    """The SLO in minutes that applies to a landing source, and where it comes from."""
    model = model_of(registry)
    if flow is not None:
        slo = model.flow_slo_minutes(flow)
        origin = f"flow {flow.name}" if flow.slo_minutes is not None else f"domain {flow.domain}"
        return slo, origin
    domain = model.domains.get((source.get("meta") or {}).get("domain", ""))
    return (domain.slo_minutes, f"domain {domain.name}") if domain else (None, "")


def _minutes(threshold: dict) -> int | None:
    if not threshold or threshold.get("count") is None:
        return None
    return int(threshold["count"]) * PERIOD_MINUTES.get(threshold.get("period", "minute"), 1)


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
    for name, flow in model_of(registry).flows.items():
        for i, node in enumerate(flow.dbt_nodes):
            if node not in nodes and node not in exports:
                path = ("flows", name, "dbt_nodes", i) if flow.declared_nodes else ("flows", name, "landing")
                yield Violation("flows", path,
                                f"flow {name!r} names {node!r}, which is not in the dbt manifest")


@rule("SG602", Severity.ERROR, "A landing source's freshness disagrees with its SLO",
      needs_manifest=True)
def freshness_within_slo(registry: Registry, manifest: Manifest) -> Iterable[Violation]:
    """Every landing source (tagged or not) has freshness that says what the registry says:
    `error_after` is the flow's SLO (its own, else its domain's) and `warn_after` the policy's
    `freshness_warn_ratio` of it.

    Why: `dbt source freshness` is what pages people. A threshold above the SLO means the SLO
    is breached long before anybody hears of it; one below it pages for a breach that did not
    happen, and either way the SLO is written twice and the copies drift.
    Fix: run `syncgov generate`, which writes the sources' freshness from the registry, or
    correct the hand-written source YAML.
    """
    ratio = model_of(registry).freshness_warn_ratio
    for source, flow in _landing_sources(registry, manifest):
        slo, origin = _flow_slo(registry, flow, source)
        if slo is None:
            continue
        freshness = source.get("freshness") or {}
        error = _minutes(freshness.get("error_after") or {})
        warn = _minutes(freshness.get("warn_after") or {})
        path, line = _source_line(manifest, source)
        label = f"{source['source_name']}.{source['name']}"
        if error is None:
            yield Violation("dbt", (), f"source {label} has no freshness error_after; the SLO of"
                            f" {origin} is {slo} min", file=path, line=line)
            continue
        if error != slo:
            word = "looser" if error > slo else "tighter"
            yield Violation("dbt", (), f"source {label} errors after {error} min, {word} than"
                            f" the {slo}-min SLO of {origin}", file=path, line=line)
        wanted = math.ceil(slo * ratio)
        if warn != wanted:
            yield Violation("dbt", (), f"source {label} warns after {warn} min; the policy's"
                            f" warn ratio {ratio:g} of the {slo}-min SLO of {origin} is {wanted}",
                            file=path, line=line)


@rule("SG607", Severity.ERROR, "A landing source's batch-latency test is missing or disagrees"
      " with its SLO", needs_manifest=True)
def latency_test_matches_slo(registry: Registry, manifest: Manifest) -> Iterable[Violation]:
    """Every landing source has a `sync_batch_latency_within_slo` test whose `slo_minutes` is
    the flow's SLO.

    Why: freshness says whether the newest batch is recent; the latency test says whether
    each batch arrived within the SLO. A test with another number measures another promise.
    Fix: run `syncgov generate`, or set the test's `slo_minutes` to the registry's SLO.
    """
    tests: dict[str, list[dict]] = {}
    for node in manifest.get("nodes", {}).values():
        meta = node.get("test_metadata") or {}
        if node.get("resource_type") == "test" and meta.get("name") == "sync_batch_latency_within_slo":
            for parent in (node.get("depends_on") or {}).get("nodes", ()):
                tests.setdefault(parent, []).append(meta.get("kwargs") or {})
    for source, flow in _landing_sources(registry, manifest):
        slo, origin = _flow_slo(registry, flow, source)
        if slo is None:
            continue
        path, line = _source_line(manifest, source)
        label = f"{source['source_name']}.{source['name']}"
        found = tests.get(source["unique_id"], [])
        if not found:
            yield Violation("dbt", (), f"source {label} has no sync_batch_latency_within_slo test;"
                            f" the SLO of {origin} is {slo} min", file=path, line=line)
        for kwargs in found:
            if kwargs.get("slo_minutes") != slo:
                yield Violation("dbt", (), f"source {label}'s latency test allows"
                                f" {kwargs.get('slo_minutes')} min; the SLO of {origin} is {slo}",
                                file=path, line=line)


@rule("SG603", Severity.ERROR, "A landing source is not claimed by any flow", needs_manifest=True)
def sources_claimed_by_flows(registry: Registry, manifest: Manifest) -> Iterable[Violation]:
    """Every landing table of a domain must belong to a declared flow.

    Why: an unclaimed table has no owner, cadence or SLO in the registry, so no schedule,
    health status or gate ever looks at it.
    Fix: declare the flow that fills it, with a `landing` block (registry/flows.yml), and run
    `syncgov generate`; or remove the source.
    """
    for source, flow in _landing_sources(registry, manifest):
        if flow is None:
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
    for source, _flow in _landing_sources(registry, manifest):
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


@rule("SG608", Severity.ERROR, "An export maps a column its model does not produce",
      needs_manifest=True)
def export_columns_exist(registry: Registry, manifest: Manifest) -> Iterable[Violation]:
    """Every column an export sends (its key, each mapped field, `_changed_at`) is a column of
    its dbt model: in the model's YAML and in what its SQL selects.

    Why: export models stay hand-written SQL (a join, an aggregate); the registry's mapping is
    what the gate, the manifests and the target's contract promise. A column the SQL does not
    select fails the contract at build time at best, and is silently null in a looser target.
    Fix: select the column in the model (named as the registry field), or correct the mapping.
    The SQL is read with Jinja stripped; a model whose outermost select cannot be resolved to
    named columns is checked against its YAML only.
    """
    package = _package(manifest)
    nodes = manifest.get("nodes", {})
    for name, export in model_of(registry).exports.items():
        node = nodes.get(f"model.{package}.{export.model}")
        if node is None:
            continue  # SG606
        wanted = [*export.key, *(ref.field for ref in export.fields), "_changed_at"]
        documented = {c.lower() for c in (node.get("columns") or {})}
        selected = select_columns(node.get("raw_code", ""))
        path = Path(manifest["_project_dir"]) / node["original_file_path"]
        for column in wanted:
            if documented and column.lower() not in documented:
                yield Violation("dbt", (), f"export {name!r} sends {column!r}, which model"
                                f" {export.model}'s YAML does not declare (run `syncgov generate`)",
                                file=path, line=1)
            elif selected is not None and column.lower() not in selected:
                yield Violation("dbt", (), f"export {name!r} sends {column!r}, which model"
                                f" {export.model} does not select", file=path, line=1)


_JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}", re.S)
_REF = re.compile(r"\{\{\s*ref\(\s*['\"]([A-Za-z0-9_]+)['\"]\s*\)\s*\}\}")
_EXPR = re.compile(r"\{\{.*?\}\}", re.S)


def select_columns(raw_code: str) -> set[str] | None:
    """The lower-cased names of the columns a model's SQL selects, or None when they cannot be
    told without compiling (Jinja control flow, `*` from a relation, unparseable SQL)."""
    if "{%" in raw_code.replace("{%-", "{%"):
        stripped = _JINJA.sub(" ", raw_code)
        if "{%" in stripped:
            return None
    sql = _JINJA.sub(" ", raw_code)
    sql = _REF.sub(lambda m: m.group(1), sql)
    sql = _EXPR.sub("null", sql)
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError, ValueError):
        return None
    ctes = {c.alias_or_name.lower(): c.this for c in tree.find_all(exp.CTE)}

    def names(select: exp.Expression, depth: int = 0) -> set[str] | None:
        if not isinstance(select, exp.Select) or depth > 20:
            return None
        out: set[str] = set()
        for projection in select.expressions:
            if isinstance(projection, exp.Star) or (
                    isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)):
                source = select.args.get("from") or select.args.get("from_")
                table = source.this if source is not None else None
                inner = ctes.get(table.name.lower()) if isinstance(table, exp.Table) else None
                resolved = names(inner, depth + 1) if inner is not None else None
                if resolved is None:
                    return None
                out |= resolved
            elif projection.alias_or_name:
                out.add(projection.alias_or_name.lower())
            else:
                return None
        return out

    return names(tree)


@rule("SG609", Severity.ERROR, "An entity state model has no history", needs_manifest=True)
def state_models_have_history(registry: Registry, manifest: Manifest) -> Iterable[Violation]:
    """Every entity state model (`<domain>_state`) has a history: a model built by the
    `entity_history` macro over it (what `syncgov generate` writes, models/history/), or a dbt
    snapshot of it. A history model must not be rebuilt by `--full-refresh`
    (`full_refresh: false`).

    Why: state holds only the latest version; without its history, what the warehouse
    believed, and when, is lost on every change — and it cannot be rebuilt from current state,
    nor from landing once landing is pruned. A `--full-refresh` that rebuilt it would erase it.
    Fix: run `syncgov generate` (it writes models/history/<domain>_history.sql), or keep the
    folder config `full_refresh: false` for the history models.
    """
    package = _package(manifest)
    nodes = manifest.get("nodes", {})
    history = f"macro.{package}.entity_history"
    kept: dict[str, list[dict]] = {}
    for node in nodes.values():
        depends = node.get("depends_on") or {}
        if node.get("resource_type") == "snapshot" or (
                node.get("resource_type") == "model" and history in depends.get("macros", ())):
            for parent in depends.get("nodes", ()):
                kept.setdefault(parent, []).append(node)
    state_models = {f"model.{package}.{name}_state" for name in model_of(registry).domains}
    for uid, node in sorted(nodes.items()):
        if node.get("resource_type") != "model" or uid not in state_models:
            continue
        histories = kept.get(uid, [])
        if not histories:
            path = Path(manifest["_project_dir"]) / node["original_file_path"]
            yield Violation("dbt", (), f"state model {node['name']} has no history (a model"
                            " built by entity_history, or a snapshot)", file=path, line=1)
        for h in histories:
            if h["resource_type"] == "model" and (h.get("config") or {}).get("full_refresh") is not False:
                path = Path(manifest["_project_dir"]) / h["original_file_path"]
                yield Violation("dbt", (), f"history {h['name']} of {node['name']} would be"
                                " rebuilt from current state by --full-refresh, losing every"
                                " earlier version: configure full_refresh: false", file=path, line=1)


_ENTRY = re.compile(r'\{"system":\s*"([a-z0-9_]+)",\s*"entity":\s*"([a-z0-9_]+)"')


@rule("SG610", Severity.ERROR, "A landing table is missing from the control layer's catalogue",
      needs_manifest=True)
def landing_tables_in_catalogue(registry: Registry, manifest: Manifest) -> Iterable[Violation]:
    """Every landing table the registry declares is in the catalogue the control models iterate
    over (macro `sync_landing_tables`), and the catalogue names no other table.

    Why: a table missing from the catalogue builds green while its domain reads `unknown`, its
    invalid events stay out of stg__quarantine and its batches are never reconciled.
    Fix: run `syncgov generate` (the catalogue is generated from the registry).
    """
    macro = manifest.get("macros", {}).get(f"macro.{_package(manifest)}.sync_landing_tables")
    declared = {t.name: t for t in model_of(registry).landing_tables}
    if macro is None:
        if declared:
            yield Violation("dbt", (), "the dbt project has no sync_landing_tables macro; run"
                            " `syncgov generate`",
                            file=Path(manifest["_project_dir"]) / "macros", line=1)
        return
    path = Path(manifest["_project_dir"]) / macro["original_file_path"]
    listed = {f"{s}__{e}" for s, e in _ENTRY.findall(macro.get("macro_sql", ""))}
    for name in sorted(set(declared) - listed):
        yield Violation("flows", ("flows", declared[name].flow, "landing"),
                        f"landing table {name} (flow {declared[name].flow}) is not in the"
                        f" catalogue {macro['original_file_path']}; run `syncgov generate`")
    for name in sorted(listed - set(declared)):
        yield Violation("dbt", (), f"the catalogue lists landing table {name}, which no flow"
                        " declares; run `syncgov generate`", file=path, line=1)
