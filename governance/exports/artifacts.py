"""The dbt artifacts an export gate reads: the graph (manifest.json), what the latest invocation
did to each node (run_results.json) and how fresh each source was (sources.json)."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from governance.errors import InputError
from governance.registry.loader import paused_gc

TEST_TYPES = ("test", "unit_test")
# What a test costs and when it runs (issue 18, macros/sync_delta_scope.sql): every cycle over
# its whole (small) table; every cycle over the delta, nightly over the whole table; or only
# nightly, over the whole table (tag `full_table`: it cannot be scoped).
EVERY_CYCLE, DELTA, FULL_TABLE = "every_cycle", "delta", "full_table"
SCOPE_MARKERS = ("sync_delta(", "sync_touched(")
# The var (recorded in audit.sync_audit_log's invocation_vars) that scoped an invocation's tests
# to a delta; an invocation without it read whole tables.
SINCE_VAR = "sync_delta_since"
# what a delta cycle's `dbt build` leaves to the nightly job (`dbt test`): the tests that are
# correct only over a whole table, and dbt's unit tests, which check the models' SQL on fixed
# inputs and so can only change with the code (CI and the nightly job run them)
DELTA_CYCLE_EXCLUDES = ("--exclude", f"tag:{FULL_TABLE}", "--exclude-resource-type", "unit_test")


@dataclass(frozen=True)
class NodeRun:
    status: str
    message: str | None
    # which completed invocation produced it and when (from the audit log; None from
    # run_results.json alone)
    invocation_id: str | None = None
    recorded_at: datetime | None = None


@dataclass(frozen=True)
class Built:
    """The latest time a model's rows were replaced, and by which invocation (build log)."""

    invocation_id: str
    built_at: datetime


@dataclass(frozen=True)
class SourceFreshness:
    unique_id: str
    status: str  # pass, warn, error, runtime error
    age_seconds: float | None
    error_after: str | None


@dataclass
class DbtArtifacts:
    manifest: dict[str, Any]
    runs: dict[str, NodeRun]
    freshness: dict[str, SourceFreshness] | None
    invocation_id: str | None = None
    run_results_generated_at: datetime | None = None
    sources_generated_at: datetime | None = None
    # per state/export model, the invocation that last replaced its rows (the build log)
    builds: dict[str, Built] = field(default_factory=dict)
    # per node, its latest result from an invocation that read whole tables (no delta scope)
    full_runs: dict[str, NodeRun] = field(default_factory=dict)
    _upstream: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    @property
    def package(self) -> str:
        return self.manifest.get("metadata", {}).get("project_name") or "syncgov"

    def model_id(self, model: str) -> str:
        return f"model.{self.package}.{model}"

    def node(self, unique_id: str) -> dict[str, Any] | None:
        return (self.manifest.get("nodes", {}).get(unique_id)
                or self.manifest.get("sources", {}).get(unique_id))

    def upstream(self, unique_id: str) -> frozenset[str]:
        """Every node the given one depends on, transitively (not itself)."""
        if unique_id not in self._upstream:
            parents = self.manifest.get("parent_map", {})
            seen: set[str] = set()
            queue = deque(parents.get(unique_id, ()))
            while queue:
                node = queue.popleft()
                if node in seen:
                    continue
                seen.add(node)
                queue.extend(parents.get(node, ()))
            self._upstream[unique_id] = frozenset(seen)
        return self._upstream[unique_id]

    @cached_property
    def _tests_by_node(self) -> dict[str, tuple[str, ...]]:
        children = self.manifest.get("child_map", {})
        return {node: tuple(c for c in kids if c.split(".", 1)[0] in TEST_TYPES)
                for node, kids in children.items()}

    def tests_on(self, nodes: set[str] | frozenset[str]) -> list[str]:
        """Data and unit tests attached to any of `nodes`, sorted."""
        found: set[str] = set()
        for node in nodes:
            found.update(self._tests_by_node.get(node, ()))
        return sorted(found)

    def test_cost(self, unique_id: str) -> str:
        """EVERY_CYCLE, DELTA (a scope marker in its `where`) or FULL_TABLE (tagged)."""
        node = self.manifest.get("nodes", {}).get(unique_id) or {}
        config = node.get("config") or {}
        if FULL_TABLE in (node.get("tags") or config.get("tags") or ()):
            return FULL_TABLE
        where = str(config.get("where") or "")
        return DELTA if any(m in where for m in SCOPE_MARKERS) else EVERY_CYCLE

    def is_state_model(self, unique_id: str) -> bool:
        node = self.manifest.get("nodes", {}).get(unique_id) or {}
        return node.get("resource_type") == "model" and "state" in node.get("fqn", [])

    def bind_to_audit_log(self, latest: dict[str, NodeRun] | None,
                          builds: dict[str, Built],
                          full: dict[str, NodeRun] | None = None) -> None:
        """Judge each node by its latest result across completed invocations (the audit log),
        not only by what the last run_results.json holds: a `dbt build --select` of one
        cadence then does not make another cadence's tests look "not run". Nodes the audit log
        has never seen keep their run_results.json entry."""
        if latest is not None:
            self.runs = {**self.runs, **latest}
        self.builds = dict(builds)
        self.full_runs = dict(full or {})

    def domains_of(self, unique_id: str) -> set[str]:
        """The domains of the landing sources a node reads, transitively."""
        return {d for u in self.upstream(unique_id) if u.startswith("source.")
                if (d := self.source_domain(u))}

    def source_domain(self, unique_id: str) -> str | None:
        meta = (self.manifest.get("sources", {}).get(unique_id) or {}).get("meta") or {}
        return meta.get("domain")


def _read(path: Path, what: str) -> dict[str, Any]:
    try:
        with paused_gc():
            data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise InputError(f"{path} not found: {what}") from exc
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a dbt artifact (the top level is not an object)")
    return data


def _generated_at(data: dict[str, Any]) -> datetime | None:
    text = (data.get("metadata") or {}).get("generated_at")
    if not text:
        return None
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def load_artifacts(target_dir: Path) -> DbtArtifacts:
    """Read the artifacts of `target_dir`. manifest.json and run_results.json are required
    (InputError otherwise); without sources.json freshness is unknown and the gate says so."""
    manifest = _read(target_dir / "manifest.json", "run `dbt build` first")
    for section in ("nodes", "sources", "parent_map", "child_map"):
        if not isinstance(manifest.get(section), dict):
            raise InputError(f"{target_dir / 'manifest.json'}: not a dbt manifest (no `{section}`)")
    results = _read(target_dir / "run_results.json", "run `dbt build` first")
    runs: dict[str, NodeRun] = {}
    for result in results.get("results") or []:
        try:
            runs[result["unique_id"]] = NodeRun(str(result["status"]), result.get("message"))
        except (KeyError, TypeError) as exc:
            raise InputError(f"{target_dir / 'run_results.json'}: a result without"
                             f" unique_id or status ({exc})") from exc
    freshness: dict[str, SourceFreshness] | None = None
    sources_generated_at = None
    sources_path = target_dir / "sources.json"
    if sources_path.exists():
        sources = _read(sources_path, "run `dbt source freshness`")
        sources_generated_at = _generated_at(sources)
        freshness = {}
        for result in sources.get("results") or []:
            error_after = (result.get("criteria") or {}).get("error_after") or {}
            threshold = (f"{error_after['count']} {error_after['period']}"
                         if error_after.get("count") is not None else None)
            freshness[result["unique_id"]] = SourceFreshness(
                result["unique_id"], str(result["status"]),
                result.get("max_loaded_at_time_ago_in_s"), threshold)
    return DbtArtifacts(
        manifest=manifest,
        runs=runs,
        freshness=freshness,
        invocation_id=(results.get("metadata") or {}).get("invocation_id"),
        run_results_generated_at=_generated_at(results),
        sources_generated_at=sources_generated_at,
    )
