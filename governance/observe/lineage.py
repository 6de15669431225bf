"""OpenLineage run events for syncgov's jobs: a sync cycle and each export publication.

A run emits START, then COMPLETE or FAIL (OpenLineage 2-0-2 RunEvents). Datasets are named
the way dbt-ol names them, so a lineage backend joins syncgov's events with dbt's: namespace
`duckdb://<path of the warehouse file>` or `snowflake://<account>`, name
`database.schema.table`. Facets say who owns what (ownership) and what the controls found
(dataQualityAssertions: reconciliation, freshness against the SLO, every gate check and the
verdict; dataQualityMetrics: rows landed; syncgov_dispositions: landed rows by disposition).

Where events go is the user's choice (see `transport_from`): a JSON-lines file or an HTTP
endpoint (Marquez, DataHub, any OpenLineage consumer); with neither configured, emitting is a
no-op. A transport that fails never fails the run it describes: the error is kept in
`LineageEmitter.errors` for the caller to report.

    emitter = LineageEmitter.from_config(registry)
    run = emitter.start("syncgov.cycle", inputs=..., outputs=...)
    ...
    emitter.complete(run, inputs=..., outputs=...)   # or emitter.fail(run, "why")
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Protocol

from governance.control_tables import read_dispositions, read_snapshot
from governance.errors import SyncgovError, UsageError
from governance.owners import domain_owners
from governance.warehouse import Warehouse, as_warehouse

SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
RUN_EVENT_SCHEMA = f"{SPEC}#/$defs/RunEvent"
FACETS = "https://openlineage.io/spec/facets"
FACET_SCHEMAS = {
    "ownership_dataset": f"{FACETS}/1-0-1/OwnershipDatasetFacet.json#/$defs/OwnershipDatasetFacet",
    "ownership_job": f"{FACETS}/1-0-1/OwnershipJobFacet.json#/$defs/OwnershipJobFacet",
    "jobType": f"{FACETS}/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
    "dataQualityAssertions": f"{FACETS}/1-1-0/DataQualityAssertionsDatasetFacet.json"
                             "#/$defs/DataQualityAssertionsDatasetFacet",
    "dataQualityMetrics": f"{FACETS}/1-0-3/DataQualityMetricsInputDatasetFacet.json"
                          "#/$defs/DataQualityMetricsInputDatasetFacet",
    "outputStatistics": f"{FACETS}/1-0-2/OutputStatisticsOutputDatasetFacet.json"
                        "#/$defs/OutputStatisticsOutputDatasetFacet",
    "errorMessage": f"{FACETS}/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
    "parent": f"{FACETS}/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
    "processing_engine": f"{FACETS}/1-1-1/ProcessingEngineRunFacet.json"
                         "#/$defs/ProcessingEngineRunFacet",
    "syncgov_dispositions": "https://syncgov.dev/schemas/openlineage/"
                            "SyncgovDispositionsInputDatasetFacet.json"
                            "#/$defs/SyncgovDispositionsInputDatasetFacet",
}
PRODUCER = "https://github.com/syncgov/syncgov"
DEFAULT_NAMESPACE = "syncgov"
DEFAULT_ENDPOINT = "api/v1/lineage"
HTTP_TIMEOUT_S = 5.0

Dataset = dict[str, Any]


def _version() -> str:
    try:
        return version("syncgov")
    except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "0+unknown"


def facet(kind: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": FACET_SCHEMAS[kind], **fields}


# -- transports ----------------------------------------------------------------------------


class LineageError(SyncgovError):
    """An event could not be delivered (kept in LineageEmitter.errors, never raised to the run)."""

    exit_code = 3


class Transport(Protocol):
    def send(self, event: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class FileTransport:
    """Appends one JSON document per line."""

    path: Path

    def send(self, event: dict[str, Any]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(event, sort_keys=True) + "\n")
        except OSError as exc:
            raise LineageError(f"{self.path}: cannot append ({exc.strerror})") from None


@dataclass(frozen=True)
class HttpTransport:
    """POSTs each event as JSON to URL/ENDPOINT (OpenLineage's HTTP API)."""

    url: str
    endpoint: str = DEFAULT_ENDPOINT
    api_key: str | None = None
    timeout: float = HTTP_TIMEOUT_S

    @property
    def target(self) -> str:
        return f"{self.url.rstrip('/')}/{self.endpoint.lstrip('/')}"

    def send(self, event: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.target, data=json.dumps(event).encode(),
                                         headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise LineageError(f"{self.target}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise LineageError(f"{self.target}: cannot send ({reason})") from None


def transport_from(env: Mapping[str, str], policy: Mapping[str, Any] | None = None,
                   ) -> Transport | None:
    """Where events go, first match wins:

    1. `OPENLINEAGE_URL` (+ `OPENLINEAGE_ENDPOINT`, default api/v1/lineage, and
       `OPENLINEAGE_API_KEY`, sent as a Bearer token): HTTP, as every OpenLineage client reads;
    2. `SYNCGOV_OPENLINEAGE_FILE`: append JSON lines to that file;
    3. `lineage` in registry/policy.yml: `{transport: file, path: ...}` or
       `{transport: http, url: ..., endpoint: ...}` (the API key only from the environment);
    4. nothing: no events.
    """
    if env.get("OPENLINEAGE_URL"):
        return HttpTransport(env["OPENLINEAGE_URL"], env.get("OPENLINEAGE_ENDPOINT")
                             or DEFAULT_ENDPOINT, env.get("OPENLINEAGE_API_KEY") or None)
    if env.get("SYNCGOV_OPENLINEAGE_FILE"):
        return FileTransport(Path(env["SYNCGOV_OPENLINEAGE_FILE"]))
    spec = dict(policy or {})
    kind = spec.get("transport")
    if kind is None:
        return None
    if kind == "file" and spec.get("path"):
        return FileTransport(Path(spec["path"]))
    if kind == "http" and spec.get("url"):
        return HttpTransport(spec["url"], spec.get("endpoint") or DEFAULT_ENDPOINT,
                             env.get("OPENLINEAGE_API_KEY") or None)
    raise UsageError(f"policy.lineage: transport {kind!r} needs "
                     + ("a path" if kind == "file" else "a url" if kind == "http"
                        else "to be file or http"))


# -- runs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """A started run: what COMPLETE or FAIL, and child runs' parent facet, refer to."""

    job: str
    run_id: str
    namespace: str
    job_facets: dict[str, Any] = field(default_factory=dict)
    parent: Run | None = None


@dataclass
class LineageEmitter:
    """Builds RunEvents and hands them to a transport (None: emit nothing)."""

    transport: Transport | None
    namespace: str = DEFAULT_NAMESPACE
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    new_run_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    errors: list[str] = field(default_factory=list)
    emitted: int = 0

    @classmethod
    def from_config(cls, registry: Mapping[str, Any] | None = None,
                    env: Mapping[str, str] | None = None) -> LineageEmitter:
        """From the environment and the registry's `policy.lineage` (see `transport_from`);
        the job namespace is `OPENLINEAGE_NAMESPACE`, else policy.lineage.namespace, else
        `syncgov`."""
        env = os.environ if env is None else env
        policy = {}
        if registry is not None:
            policy = dict(registry["policy"].data["policy"].get("lineage", {}))
        namespace = env.get("OPENLINEAGE_NAMESPACE") or policy.get("namespace") \
            or DEFAULT_NAMESPACE
        return cls(transport_from(env, policy), namespace)

    @property
    def enabled(self) -> bool:
        return self.transport is not None

    def start(self, job: str, *, inputs: Iterable[Dataset] = (),
              outputs: Iterable[Dataset] = (), job_facets: dict[str, Any] | None = None,
              parent: Run | None = None) -> Run:
        run = Run(job, self.new_run_id(), self.namespace, dict(job_facets or {}), parent)
        self._emit("START", run, inputs, outputs)
        return run

    def complete(self, run: Run, *, inputs: Iterable[Dataset] = (),
                 outputs: Iterable[Dataset] = ()) -> None:
        self._emit("COMPLETE", run, inputs, outputs)

    def fail(self, run: Run, message: str, *, inputs: Iterable[Dataset] = (),
             outputs: Iterable[Dataset] = ()) -> None:
        self._emit("FAIL", run, inputs, outputs, {"errorMessage": facet(
            "errorMessage", message=message, programmingLanguage="python")})

    def event(self, event_type: str, run: Run, inputs: Iterable[Dataset] = (),
              outputs: Iterable[Dataset] = (), run_facets: dict[str, Any] | None = None,
              ) -> dict[str, Any]:
        facets: dict[str, Any] = {"processing_engine": facet(
            "processing_engine", name="syncgov", version=_version())}
        if run.parent is not None:
            facets["parent"] = facet("parent", run={"runId": run.parent.run_id},
                                     job={"namespace": run.parent.namespace,
                                          "name": run.parent.job})
        facets.update(run_facets or {})
        return {
            "eventType": event_type,
            "eventTime": self.clock().astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "producer": PRODUCER,
            "schemaURL": RUN_EVENT_SCHEMA,
            "run": {"runId": run.run_id, "facets": facets},
            "job": {"namespace": run.namespace, "name": run.job, "facets": {
                "jobType": facet("jobType", processingType="BATCH", integration="SYNCGOV",
                                 jobType="JOB"), **run.job_facets}},
            "inputs": list(inputs),
            "outputs": list(outputs),
        }

    def _emit(self, event_type: str, run: Run, inputs: Iterable[Dataset],
              outputs: Iterable[Dataset], run_facets: dict[str, Any] | None = None) -> None:
        if self.transport is None:
            return
        try:
            self.transport.send(self.event(event_type, run, inputs, outputs, run_facets))
            self.emitted += 1
        except LineageError as exc:
            self.errors.append(f"OpenLineage {event_type} of {run.job}: {exc}")


# -- datasets -------------------------------------------------------------------------------


def duckdb_namespace(warehouse: Path) -> str:
    """dbt-ol's namespace for a dbt-duckdb profile: the database file's path."""
    return f"duckdb://{warehouse.resolve()}"


def snowflake_namespace(account: str) -> str:
    """dbt-ol's namespace for Snowflake: the account identifier, lower case, `_` as `-`."""
    return f"snowflake://{account.lower().replace('_', '-')}"


def relation_name(relation: str) -> str:
    """`"syncgov"."main_exports"."exp_x"` (dbt's relation_name) as `syncgov.main_exports.exp_x`."""
    return ".".join(part.strip().strip('"').strip("`") for part in relation.split("."))


def dataset(namespace: str, name: str, *, facets: dict[str, Any] | None = None,
            input_facets: dict[str, Any] | None = None,
            output_facets: dict[str, Any] | None = None) -> Dataset:
    out: Dataset = {"namespace": namespace, "name": name}
    if facets:
        out["facets"] = facets
    if input_facets:
        out["inputFacets"] = input_facets
    if output_facets:
        out["outputFacets"] = output_facets
    return out


def ownership(technical: str | None, business: str | None, kind: str = "dataset",
              ) -> dict[str, Any]:
    owners = [{"name": f"team:{t}", "type": role} for t, role in
              ((technical, "TECHNICAL_OWNER"), (business, "BUSINESS_OWNER")) if t]
    return facet(f"ownership_{kind}", owners=owners)


def assertions(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return facet("dataQualityAssertions", assertions=[
        {k: (v if isinstance(v, bool) else str(v)) for k, v in item.items() if v is not None}
        for item in items])


def landing_inputs(namespace: str, database: str, health: Iterable[Any],
                   reconciliation: Mapping[str, Mapping[str, int]],
                   dispositions: Mapping[str, Mapping[str, int]],
                   owners: Mapping[str, tuple[str | None, str | None]],
                   schema: str = "landing") -> list[Dataset]:
    """One input per landing table (a flow row of control.sync_health), with ownership, the
    reconciliation and freshness verdicts, rows landed and the dispositions of those rows."""
    out = []
    for h in health:
        if h.level != "flow" or not h.flow:
            continue
        batches = dict(reconciliation.get(h.flow, {}))
        reconciled = batches.get("reconciled", 0)
        total = sum(batches.values())
        checks = [
            {"name": f"{h.flow}: every batch reconciles", "assertion": "reconciliation",
             "success": total == reconciled, "expected": total, "actual": reconciled,
             "severity": "warn",
             "description": "batches whose landed rows and event-id checksum match the ledger"},
            {"name": f"{h.flow}: within its SLO", "assertion": "freshness",
             "success": h.status == "current", "expected": h.slo_minutes,
             "actual": h.staleness_minutes, "severity": "warn", "description": h.reason},
        ]
        counts = {k: int(v) for k, v in dispositions.get(h.flow, {}).items()}
        input_facets = {
            "dataQualityAssertions": assertions(checks),
            "dataQualityMetrics": facet("dataQualityMetrics", rowCount=int(h.rows_landed),
                                        columnMetrics={}),
        }
        if counts:
            input_facets["syncgov_dispositions"] = facet(
                "syncgov_dispositions", landed=sum(counts.values()), dispositions=counts)
        technical, business = owners.get(h.domain, (None, None))
        out.append(dataset(namespace, f"{database}.{schema}.{h.flow}",
                           facets={"ownership": ownership(technical, business)},
                           input_facets=input_facets))
    return out


def export_datasets(manifest: Mapping[str, Any], namespace: str,
                    ) -> tuple[list[Dataset], list[Dataset]]:
    """Inputs and outputs of one export publication, from its manifest: the export model
    (with the gate's checks and verdict as assertions) in, the target object out."""
    owners = manifest.get("owners", {})
    technical = (owners.get("technical") or {}).get("team")
    business = (owners.get("business") or {}).get("team")
    gate = manifest["gate"]
    checks = [{"name": c["check"], "assertion": c["check"], "success": c["status"] != "block",
               "severity": "error" if c["status"] == "block" else "warn",
               "expected": c.get("threshold"), "actual": c.get("observed"),
               "description": c.get("message")} for c in gate.get("checks", [])]
    checks.append({"name": "gate verdict", "assertion": "gate_verdict",
                   "success": gate["verdict"] != "blocked", "severity": "error",
                   "expected": "publishable", "actual": gate["verdict"],
                   "description": "; ".join(r.get("message", r["check"])
                                            for r in gate.get("reasons", []))})
    source = manifest["source"]
    name = relation_name(source["relation"]) if source.get("relation") else \
        f"{source.get('schema')}.{source.get('name')}"
    model = dataset(namespace, name, facets={"ownership": ownership(technical, business)},
                    input_facets={
                        "dataQualityAssertions": assertions(checks),
                        "dataQualityMetrics": facet(
                            "dataQualityMetrics", rowCount=int(manifest["row_counts"]["current"]),
                            columnMetrics={})})
    destination = manifest["destination"]
    target = dataset(f"syncgov-target://{destination['system']}", destination["object"],
                     output_facets={"outputStatistics": facet(
                         "outputStatistics", rowCount=int(manifest["batch"]["rows_in_batch"]))})
    return [model], [target]


def emit_export(emitter: LineageEmitter, manifest: Mapping[str, Any], namespace: str,
                run: Run) -> None:
    """COMPLETE for a publishable or warn export, FAIL (with the gate's reasons) for a blocked
    one: its publication did not happen."""
    inputs, outputs = export_datasets(manifest, namespace)
    if manifest["gate"]["verdict"] == "blocked":
        reasons = "; ".join(r.get("message", r["check"]) for r in manifest["gate"]["reasons"])
        emitter.fail(run, f"blocked by its gate: {reasons}", inputs=inputs, outputs=[])
    else:
        emitter.complete(run, inputs=inputs, outputs=outputs)


def cycle_datasets(warehouse: Warehouse | Path, registry: Mapping[str, Any],
                   manifest: Mapping[str, Any] | None = None,
                   ) -> tuple[list[Dataset], list[Dataset]]:
    """Inputs and outputs of a sync cycle on `warehouse` (DuckDB or Snowflake): every landing table with
    its control facets in; with dbt's manifest, every state, control and export model out
    (named from their relation_name, as dbt-ol names them)."""
    warehouse = as_warehouse(warehouse)
    snapshot = read_snapshot(warehouse)
    owners = {}
    for name in registry["domains"].data["domains"]:
        o = domain_owners(registry, name)
        owners[name] = (o.technical.name, o.business.name) if o else (None, None)
    namespace = warehouse.namespace
    inputs = landing_inputs(namespace, warehouse.catalog, snapshot.health, snapshot.reconciliation,
                            read_dispositions(warehouse), owners)
    outputs = []
    for node in (manifest or {}).get("nodes", {}).values():
        if node.get("resource_type") != "model" or not node.get("relation_name"):
            continue
        if node.get("schema") in ("state", "control", "exports"):
            outputs.append(dataset(namespace, relation_name(node["relation_name"])))
    return inputs, sorted(outputs, key=lambda d: d["name"])
