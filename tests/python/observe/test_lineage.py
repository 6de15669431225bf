"""OpenLineage run events: every event a cycle and an export emit validates against the
2-0-2 schemas, goes to the configured transport (file or HTTP on loopback), and says who owns
what and what the controls found."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from governance.control_tables import Health
from governance.errors import UsageError
from governance.observe import lineage as ol
from governance.registry import load_registry
from tests.python.observe.openlineage_schema import errors

REPO = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 24, 12, 0)
NS = "duckdb:///data/syncgov.duckdb"


def flow(name: str, domain: str, status: str, unreconciled: int = 0) -> Health:
    return Health("flow", domain, name, name.partition("__")[0], "tier_1", 15, NOW, "b1", "success",
                  40 if status == "delayed" else 3, 0.5, 0.9, 1200, 12, 7, unreconciled, 0, 0,
                  None, NOW, status, f"{name}: {status}")


MANIFEST = {
    "export_id": "helpdesk_customers",
    "owners": {"technical": {"team": "data-platform"}, "business": {"team": "customer-operations"}},
    "source": {"relation": '"syncgov"."exports"."exp_helpdesk__customers"'},
    "destination": {"system": "helpdesk", "object": "contacts"},
    "row_counts": {"current": 150},
    "batch": {"rows_in_batch": 12},
    "gate": {"verdict": "warn",
             "checks": [{"check": "dbt_tests", "status": "pass", "observed": {"tests": 20},
                         "threshold": None, "message": "20 tests passed"},
                        {"check": "open_conflicts", "status": "warn", "observed": {"phone": 3},
                         "threshold": 0, "message": "3 open conflicts on phone"}],
             "reasons": [{"check": "open_conflicts", "status": "warn",
                          "message": "3 open conflicts on phone"}]},
}


def emitter(transport) -> ol.LineageEmitter:
    ids = iter(f"00000000-0000-4000-8000-{i:012d}" for i in range(1, 100))
    return ol.LineageEmitter(transport, clock=lambda: datetime(2026, 11, 24, 12, 0, tzinfo=UTC),
                             new_run_id=lambda: next(ids))


def cycle_and_export(em: ol.LineageEmitter) -> None:
    inputs = ol.landing_inputs(NS, "syncgov", [
        flow("wms__inventory_movements", "inventory", "current"),
        flow("oms__orders", "order", "partial", unreconciled=2),
        Health("domain", "order", None, None, "tier_1", 15, NOW, None, None, 3, 0.5, 0.9, 1, 0,
               0, 0, 0, 0, None, NOW, "partial", "x")],
        {"oms__orders": {"reconciled": 8, "missing_rows": 2},
         "wms__inventory_movements": {"reconciled": 10}},
        {"oms__orders": {"applied": 900, "superseded": 281, "duplicate": 12, "quarantined": 7}},
        {"order": ("data-platform", "fulfilment"), "inventory": ("data-platform", "fulfilment")})
    cycle = em.start("syncgov.cycle", inputs=[{"namespace": d["namespace"], "name": d["name"]}
                                              for d in inputs])
    export = em.start("syncgov.export.helpdesk_customers", parent=cycle)
    ol.emit_export(em, MANIFEST, NS, export)
    blocked = em.start("syncgov.export.procurement_supplier_risk", parent=cycle)
    ol.emit_export(em, MANIFEST | {"gate": MANIFEST["gate"] | {"verdict": "blocked"}}, NS,
                   blocked)
    em.complete(cycle, inputs=inputs, outputs=[ol.dataset(NS, "syncgov.state.order_state")])
    failed = em.start("syncgov.cycle")
    em.fail(failed, "dbt build failed: 2 errors")


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_file_transport_events_validate_and_say_what_the_controls_found(tmp_path: Path) -> None:
    out = tmp_path / "lineage" / "events.jsonl"
    em = emitter(ol.FileTransport(out))
    cycle_and_export(em)
    events = read_lines(out)
    assert em.errors == []
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("syncgov.cycle", "START"),
        ("syncgov.export.helpdesk_customers", "START"),
        ("syncgov.export.helpdesk_customers", "COMPLETE"),
        ("syncgov.export.procurement_supplier_risk", "START"),
        ("syncgov.export.procurement_supplier_risk", "FAIL"),
        ("syncgov.cycle", "COMPLETE"),
        ("syncgov.cycle", "START"),
        ("syncgov.cycle", "FAIL")]
    for event in events:
        assert errors(event) == [], event
    # dbt-ol naming
    complete = events[5]
    assert [d["name"] for d in complete["inputs"]] == ["syncgov.landing.wms__inventory_movements",
                                                       "syncgov.landing.oms__orders"]
    assert {d["namespace"] for d in complete["inputs"]} == {NS}
    orders = complete["inputs"][1]
    assert orders["facets"]["ownership"]["owners"] == [
        {"name": "team:data-platform", "type": "TECHNICAL_OWNER"},
        {"name": "team:fulfilment", "type": "BUSINESS_OWNER"}]
    checks = {a["assertion"]: a for a in orders["inputFacets"]["dataQualityAssertions"]["assertions"]}
    assert checks["reconciliation"] | {"success": False, "expected": "10", "actual": "8"} \
        == checks["reconciliation"]
    assert checks["freshness"]["success"] is False
    assert orders["inputFacets"]["syncgov_dispositions"]["landed"] == 1200
    assert orders["inputFacets"]["dataQualityMetrics"]["rowCount"] == 1200
    inventory = complete["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert all(a["success"] for a in inventory)
    # exports: a child of the cycle; the gate's checks and verdict; blocked is FAIL with reasons
    export_done = events[2]
    assert export_done["run"]["facets"]["parent"]["run"]["runId"] == events[0]["run"]["runId"]
    assert export_done["inputs"][0]["name"] == "syncgov.exports.exp_helpdesk__customers"
    verdict = export_done["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"][-1]
    assert verdict == {"name": "gate verdict", "assertion": "gate_verdict", "success": True,
                       "severity": "error", "expected": "publishable", "actual": "warn",
                       "description": "3 open conflicts on phone"}
    assert export_done["outputs"] == [{"namespace": "syncgov-target://helpdesk",
                                       "name": "contacts", "outputFacets": {"outputStatistics": {
                                           "_producer": ol.PRODUCER,
                                           "_schemaURL": ol.FACET_SCHEMAS["outputStatistics"],
                                           "rowCount": 12}}}]
    assert events[4]["run"]["facets"]["errorMessage"]["message"] == (
        "blocked by its gate: 3 open conflicts on phone")
    assert events[4]["outputs"] == []
    assert events[7]["run"]["facets"]["errorMessage"]["message"] == "dbt build failed: 2 errors"
    assert len({e["run"]["runId"] for e in events}) == 4


def test_the_validator_rejects_what_breaks_the_schema() -> None:
    em = emitter(None)
    run = em.start("j")
    good = em.event("COMPLETE", run, [ol.dataset(NS, "a.b.c", facets={
        "ownership": ol.ownership("t", None)})])
    assert errors(good) == []
    no_producer = json.loads(json.dumps(good))
    del no_producer["inputs"][0]["facets"]["ownership"]["_producer"]
    assert any("_producer" in e for e in errors(no_producer))
    bad_type = good | {"eventType": "DONE"}
    assert errors(bad_type)
    unknown = json.loads(json.dumps(good))
    unknown["run"]["facets"]["mystery"] = {"_producer": "x", "_schemaURL": "y"}
    assert "run.facets.mystery: no schema for this facet" in errors(unknown)
    bad_id = json.loads(json.dumps(good))
    bad_id["run"]["runId"] = "run-1"
    assert errors(bad_id)


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str | None, dict]]] = []
    status = 200

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((self.path, self.headers.get("Authorization"), body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, type[_Collector]]]:
    handler = type("Handler", (_Collector,), {"received": [], "status": 201})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_http_transport_posts_every_event_to_the_lineage_api(collector) -> None:
    url, handler = collector
    em = emitter(ol.transport_from({"OPENLINEAGE_URL": url, "OPENLINEAGE_API_KEY": "k3y"}))
    cycle_and_export(em)
    assert em.errors == []
    assert em.emitted == len(handler.received) == 8
    assert {(p, auth) for p, auth, _ in handler.received} == {("/api/v1/lineage", "Bearer k3y")}
    for _, _, event in handler.received:
        assert errors(event) == []


def test_an_unreachable_backend_is_recorded_not_raised(collector) -> None:
    url, handler = collector
    handler.status = 500
    em = emitter(ol.HttpTransport(url))
    run = em.start("syncgov.cycle")
    em.complete(run)
    assert em.emitted == 0
    assert len(em.errors) == 2
    assert em.errors[0].startswith("OpenLineage START of syncgov.cycle: ")
    assert "HTTP 500" in em.errors[0]


def test_transport_configuration_env_first_then_policy(tmp_path: Path) -> None:
    assert ol.transport_from({}) is None
    assert ol.transport_from({}, {"transport": "file", "path": "x.jsonl"}) == \
        ol.FileTransport(Path("x.jsonl"))
    http = ol.transport_from({"OPENLINEAGE_URL": "http://m:5000", "SYNCGOV_OPENLINEAGE_FILE": "f"},
                             {"transport": "file", "path": "x"})
    assert isinstance(http, ol.HttpTransport)
    assert http.target == "http://m:5000/api/v1/lineage"
    assert ol.transport_from({"SYNCGOV_OPENLINEAGE_FILE": "f.jsonl"}) == \
        ol.FileTransport(Path("f.jsonl"))
    with pytest.raises(UsageError, match="needs a url"):
        ol.transport_from({}, {"transport": "http"})
    # from the registry policy, namespace included
    shutil.copytree(REPO / "registry", tmp_path / "registry")
    policy = tmp_path / "registry" / "policy.yml"
    policy.write_text(policy.read_text() + "  lineage:\n    transport: file\n"
                      f"    path: {tmp_path / 'ol.jsonl'}\n    namespace: acme-sync\n")
    em = ol.LineageEmitter.from_config(load_registry(policy.parent), env={})
    assert em.namespace == "acme-sync"
    assert em.transport == ol.FileTransport(tmp_path / "ol.jsonl")
    assert ol.LineageEmitter.from_config(load_registry(policy.parent),
                                         env={"OPENLINEAGE_NAMESPACE": "n"}).namespace == "n"


def test_dataset_names_follow_dbt_ol() -> None:
    assert ol.relation_name('"syncgov"."state"."order_state"') == "syncgov.state.order_state"
    assert ol.duckdb_namespace(Path("/w/syncgov.duckdb")) == "duckdb:///w/syncgov.duckdb"
    assert ol.snowflake_namespace("MyOrg_Prod") == "snowflake://myorg-prod"
