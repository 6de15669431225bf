"""Exports end to end: simulate -> dbt build -> dbt source freshness -> syncgov export --render
drt -> syncgov deliver (drt-core in-process), into a real PostgreSQL 15 standing in for the helpdesk, storefront and
procurement databases.

One warehouse goes through four cycles: the first publication, a run with no new batches, a
new batch, and a build in which an upstream test fails. A second warehouse, whose CRM loader
stalled two hours ago, is exported into the same databases. After each cycle the test
snapshots every target table, PostgreSQL's own row counters and the export models, and the
tests below compare them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from governance.exports.manifest import validation_errors
from governance.simulate.faults import FaultRates
from tests.e2e.conftest import Warehouse
from tests.e2e.postgres_server import PostgresServer, postgres_server
from tests.export_log_contract import CONTRACT_TYPES

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("exports_postgres")]

BIN = Path(sys.executable).parent
# export -> (database, table, target columns in the export model's column order)
TARGETS = {
    "helpdesk_customers": ("helpdesk", "contacts", (
        "external_id", "name", "email", "phone", "segment", "credit_status",
        "syncgov_changed_at")),
    "storefront_product_availability": ("storefront", "product_availability", (
        "sku", "title", "category", "status", "price", "currency", "available_quantity",
        "syncgov_changed_at")),
    "procurement_supplier_risk": ("procurement", "supplier_risk", (
        "supplier_ref", "supplier_name", "country", "risk_score", "risk_tier",
        "syncgov_changed_at")),
}
MODELS = {
    "helpdesk_customers": ("exp_helpdesk__customers", (
        "customer_id", "account_name", "email", "phone", "segment", "credit_status",
        "_changed_at")),
    "storefront_product_availability": ("exp_storefront__product_availability", (
        "sku", "product_name", "category", "lifecycle_status", "list_price", "currency",
        "quantity_on_hand", "_changed_at")),
    "procurement_supplier_risk": ("exp_procurement__supplier_risk", (
        "supplier_id", "supplier_name", "country", "risk_score", "risk_tier", "_changed_at")),
}
# The operational systems' own tables: the key is unique (ON CONFLICT needs it).
DDL = {
    "contacts": """create table contacts (
        external_id text primary key, name text, email text, phone text, segment text,
        credit_status text, syncgov_changed_at timestamp, syncgov_deleted_at timestamp)""",
    "product_availability": """create table product_availability (
        sku text primary key, title text, category text, status text, price numeric(18, 2),
        currency text, available_quantity bigint, syncgov_changed_at timestamp)""",
    "supplier_risk": """create table supplier_risk (
        supplier_ref text primary key, supplier_name text, country text, risk_score bigint,
        risk_tier text, syncgov_changed_at timestamp)""",
}
# SOURCE_SYSTEMS[seed % 7] stalls: seed 7 picks crm (the customer domain, SLO 60 min).
SEED = 7


@dataclass
class Cycle:
    name: str
    export_exit: int
    export_output: str
    manifests: dict[str, dict]
    index: dict
    rendered: set[str]
    drt_exit: int
    drt_output: str
    pg: dict[str, list[tuple]]
    counters: dict[str, tuple[int, int, int]]
    models: dict[str, list[tuple]]


@dataclass
class Journey:
    server: PostgresServer
    cycles: dict[str, Cycle]
    warehouse: Warehouse
    validate_exit: int
    validate_output: str


def _pg_snapshot(server: PostgresServer) -> tuple[dict[str, list[tuple]], dict[str, tuple]]:
    rows, counters = {}, {}
    for export, (db, table, columns) in TARGETS.items():
        con = server.connect(db)
        try:
            cur = con.cursor()
            cur.execute(f"select {', '.join(columns)} from {table}")
            rows[export] = sorted(cur.fetchall())
            # counters of this database's table, as of every committed transaction
            cur.execute("select pg_stat_clear_snapshot()")
            cur.execute("select n_tup_ins, n_tup_upd, n_tup_del from pg_stat_user_tables"
                        " where relname = %s", (table,))
            counters[export] = cur.fetchone()
        finally:
            con.close()
    return rows, counters


def _model_rows(wh: Warehouse) -> dict[str, list[tuple]]:
    return {export: sorted(wh.query(f"select {', '.join(cols)} from exports.{model}"))
            for export, (model, cols) in MODELS.items()}


def _cycle(name: str, wh: Warehouse, server: PostgresServer, home: Path, out: Path,
           project: Path, *, build_check: bool = True) -> Cycle:
    wh.dbt("build", check=build_check)
    wh.dbt("source", "freshness", check=False)
    env = {**os.environ, "HOME": str(home), "DO_NOT_TRACK": "1",
           **{f"SYNCGOV_{db.upper()}_DSN": server.dsn(db) for db, _, _ in TARGETS.values()}}
    exported = subprocess.run(
        [str(BIN / "syncgov"), "export", "--project-dir", str(project),
         "--registry", str(project / "registry"), "--target-dir", str(wh.target),
         "--warehouse", str(wh.path), "--out", str(out), "--render", "drt"],
        cwd=wh.root, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert exported.returncode in (0, 1), exported.stderr
    drt = subprocess.run([str(BIN / "syncgov"), "deliver", "--target-dir", str(wh.target),
                          "--warehouse", str(wh.path), "--exports", str(out)],
                         cwd=wh.root, env=env, capture_output=True, text=True, timeout=600,
                         check=False)
    pg, counters = _pg_snapshot(server)
    return Cycle(
        name=name,
        export_exit=exported.returncode,
        export_output=exported.stdout + exported.stderr,
        manifests={p.stem: json.loads(p.read_text()) for p in (out / "manifests").glob("*.json")},
        index=json.loads((out / "index.json").read_text()),
        rendered={p.stem for p in (out / "drt" / "syncs").glob("*.yml")},
        drt_exit=drt.returncode,
        drt_output=drt.stdout + drt.stderr,
        pg=pg,
        counters=counters,
        models=_model_rows(wh),
    )


def _home(root: Path, warehouse: Path) -> Path:
    """A HOME whose ~/.drt/profiles.yml points drt's `syncgov` profile at the warehouse."""
    home = root / "home"
    (home / ".drt").mkdir(parents=True)
    (home / ".drt" / "profiles.yml").write_text(
        f"syncgov:\n  type: duckdb\n  database: {warehouse}\n")
    return home


@pytest.fixture(scope="module")
def journey(project_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Journey]:
    root = tmp_path_factory.mktemp("exports_pg")
    with postgres_server() as server:
        for db, table, _ in TARGETS.values():
            server.create_database(db)
            con = server.connect(db)
            con.cursor().execute(DDL[table])
            con.close()
        now = datetime.now(UTC)
        wh = Warehouse(project_dir, root / "w1")
        wh.root.mkdir()
        home, out = _home(wh.root, wh.path), wh.root / "exports"
        wh.simulate(seed=SEED, now=now, events=3000, entities=150, batches=4)
        cycles = {"first": _cycle("first", wh, server, home, out, project_dir)}
        validate = subprocess.run([str(BIN / "drt"), "validate"], cwd=out / "drt",
                                  env={**os.environ, "HOME": str(home), "DO_NOT_TRACK": "1"},
                                  capture_output=True, text=True, timeout=300, check=False)
        cycles["unchanged"] = _cycle("unchanged", wh, server, home, out, project_dir)
        wh.simulate(append=True, batches=1, now=datetime.now(UTC))
        cycles["new_batch"] = _cycle("new_batch", wh, server, home, out, project_dir)

        # A bug duplicates a customer in state: unique_customer_state_customer_id fails, and
        # dbt skips everything downstream of customer_state.
        con = duckdb.connect(str(wh.path))
        con.execute("insert into state.customer_state"
                    " select * from state.customer_state order by customer_id limit 1")
        con.close()
        cycles["failing_test"] = _cycle("failing_test", wh, server, home, out, project_dir,
                                        build_check=False)

        # Another warehouse: every loader delivered until two hours ago; then all but the CRM
        # loader delivered a new batch (SOURCE_SYSTEMS[7 % 7] == crm stalls).
        stalled = Warehouse(project_dir, root / "w2")
        stalled.root.mkdir()
        stalled.simulate(seed=SEED, now=now - timedelta(hours=2), events=3000, entities=150,
                         batches=4)
        stalled.simulate(append=True, batches=1, now=datetime.now(UTC),
                         faults=FaultRates(stalled_system=1.0))
        cycles["stalled"] = _cycle("stalled", stalled, server, _home(stalled.root, stalled.path),
                                   stalled.root / "exports", project_dir)
        yield Journey(server, cycles, wh, validate.returncode, validate.stdout + validate.stderr)


def test_first_publication_delivers_every_export_row(journey: Journey) -> None:
    first = journey.cycles["first"]
    assert first.drt_exit == 0, first.drt_output
    verdicts = {e: m["gate"]["verdict"] for e, m in first.manifests.items()}
    assert set(verdicts) == set(TARGETS)
    assert "blocked" not in verdicts.values(), first.export_output
    assert first.export_exit == 0
    assert first.rendered == set(TARGETS)
    for export in TARGETS:
        assert len(first.models[export]) >= 5
        assert first.pg[export] == first.models[export], export
        assert first.counters[export] == (len(first.models[export]), 0, 0)
        batch = first.manifests[export]["batch"]
        assert batch["watermark_from"] is None
        assert batch["rows_in_batch"] == len(first.models[export])


def test_every_rendered_sync_passes_drt_validate(journey: Journey) -> None:
    assert journey.validate_exit == 0, journey.validate_output
    for export in TARGETS:
        assert export in journey.validate_output


def test_manifests_validate_against_the_published_schema(journey: Journey) -> None:
    for cycle in journey.cycles.values():
        for export, manifest in cycle.manifests.items():
            assert validation_errors(manifest) == [], (cycle.name, export)


def test_a_run_without_new_batches_changes_nothing(journey: Journey) -> None:
    first, again = journey.cycles["first"], journey.cycles["unchanged"]
    assert again.drt_exit == 0, again.drt_output
    assert again.pg == first.pg
    assert again.counters == first.counters
    for export, manifest in again.manifests.items():
        batch = manifest["batch"]
        assert batch["rows_in_batch"] == 0, export
        assert batch["empty"] is True, export
        assert batch["watermark_from"] == first.manifests[export]["batch"]["watermark_to"]
        assert batch["watermark_to"] == batch["watermark_from"]
        assert manifest["row_counts"]["previous"] == len(first.models[export])
    # an unchanged mirror is not re-sent (it would rewrite every row)
    assert "procurement_supplier_risk" not in again.rendered
    notes = {e["export_id"]: e["render_notes"] for e in again.index["exports"]}
    assert notes["procurement_supplier_risk"]["drt"].startswith("nothing changed")


def test_a_new_batch_delivers_only_the_changed_rows(journey: Journey) -> None:
    before, after = journey.cycles["unchanged"], journey.cycles["new_batch"]
    assert after.drt_exit == 0, after.drt_output
    for export in TARGETS:
        assert after.pg[export] == after.models[export], export
    for export in ("helpdesk_customers", "storefront_product_availability"):
        batch = after.manifests[export]["batch"]
        start = datetime.fromisoformat(batch["watermark_from"].removesuffix("Z"))
        changed = [row for row in after.models[export] if row[-1] > start]
        assert 0 < batch["rows_in_batch"] == len(changed) < len(after.models[export])
        ins0, upd0, del0 = before.counters[export]
        ins1, upd1, del1 = after.counters[export]
        # exactly the changed rows were written, nothing else was touched
        assert (ins1 - ins0) + (upd1 - upd0) == len(changed), export
        assert del1 == del0
        # every other row is exactly as the previous publication left it
        changed_keys = {row[0] for row in changed}
        assert {r for r in after.pg[export] if r[-1] <= start} == {
            r for r in before.pg[export] if r[0] not in changed_keys}


def test_a_failing_upstream_test_blocks_the_export_and_leaves_the_target_alone(
        journey: Journey) -> None:
    before, cycle = journey.cycles["new_batch"], journey.cycles["failing_test"]
    manifest = cycle.manifests["helpdesk_customers"]
    assert manifest["gate"]["verdict"] == "blocked"
    checks = {r["check"]: r for r in manifest["gate"]["reasons"] if r["status"] == "block"}
    assert "unique_customer_state_customer_id" in checks["dbt_tests"]["observed"]["failed"]
    assert checks["dbt_model"]["observed"] == "skipped"
    assert cycle.export_exit == 1
    assert "helpdesk_customers" not in cycle.rendered
    assert cycle.drt_exit == 1, cycle.drt_output  # deliver: a blocked export is not sent
    assert cycle.pg == before.pg
    assert cycle.counters == before.counters


def test_a_stalled_source_blocks_the_export_and_leaves_the_target_alone(journey: Journey) -> None:
    before, cycle = journey.cycles["failing_test"], journey.cycles["stalled"]
    manifest = cycle.manifests["helpdesk_customers"]
    assert manifest["gate"]["verdict"] == "blocked", cycle.export_output
    status = next(r for r in manifest["gate"]["reasons"] if r["check"] == "domain_status")
    assert (status["domain"], status["observed"], status["action"]) == (
        "customer", "delayed", "retry")
    freshness = next(r for r in manifest["gate"]["reasons"] if r["check"] == "source_freshness")
    assert freshness["observed"]["source"] == "crm.accounts"
    assert freshness["observed"]["age_minutes"] > 100
    retry_at = datetime.fromisoformat(manifest["gate"]["retry_at"].removesuffix("Z"))
    evaluated = datetime.fromisoformat(manifest["gate"]["evaluated_at"].removesuffix("Z"))
    assert evaluated < retry_at <= evaluated + timedelta(minutes=45)
    boundary = manifest["freshness"]
    assert boundary["stalest_domain"] == "customer"
    assert "helpdesk_customers" not in cycle.rendered
    assert cycle.pg["helpdesk_customers"] == before.pg["helpdesk_customers"]
    assert cycle.counters["helpdesk_customers"] == before.counters["helpdesk_customers"]


def test_every_verdict_is_in_the_audit_log(journey: Journey) -> None:
    rows = journey.warehouse.query(
        "select export_id, verdict, batch_id, watermark_from, watermark_to, rows_current,"
        " rows_previous, reasons, manifest_path from audit.sync_export_log"
        " order by evaluated_at, export_id")
    assert len(rows) == 4 * len(TARGETS)
    cycles = ["first", "unchanged", "new_batch", "failing_test"]
    for i, name in enumerate(cycles):
        manifests = journey.cycles[name].manifests
        for export_id, verdict, batch_id, wm_from, wm_to, current, previous, reasons, path in (
                rows[i * 3:(i + 1) * 3]):
            assert (wm_from.isoformat() + "Z" if wm_from else None) == (
                manifests[export_id]["batch"]["watermark_from"])
            gate, batch = manifests[export_id]["gate"], manifests[export_id]["batch"]
            assert verdict == gate["verdict"]
            assert batch_id == batch["batch_id"]
            assert (wm_to.isoformat() + "Z" if wm_to else None) == batch["watermark_to"]
            assert current == manifests[export_id]["row_counts"]["current"]
            assert previous == manifests[export_id]["row_counts"]["previous"]
            logged = json.loads(reasons)
            assert [r["check"] for r in logged] == [r["check"] for r in gate["reasons"]]
            assert all({"check", "observed", "threshold", "message"} <= set(r) for r in logged)
            assert Path(path).name == f"{export_id}.json"
    types = dict(journey.warehouse.query(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'audit' and table_name = 'sync_export_log'"))
    assert {k: types[k] for k in CONTRACT_TYPES} == CONTRACT_TYPES
