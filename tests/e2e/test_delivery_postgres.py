"""Delivery end to end: `syncgov export` then `syncgov deliver` with the real drt-core engine into
a real PostgreSQL 15, and the faults a target system brings: its table missing, a constraint
rejecting some rows, the server down, a manual edit, a tombstone.

One small warehouse is simulated, built and exported once; every test delivers a private copy
of it (warehouse file and exports folder) into its own PostgreSQL database, so the tests are
independent. PostgreSQL's own row counters (pg_stat_user_tables) are the oracle for "no row is
delivered twice": each write to the target is an insert or an update there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from tests.e2e.conftest import Warehouse
from tests.e2e.postgres_server import PostgresServer, postgres_server
from tests.python.observe.openlineage_schema import errors

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("delivery_postgres")]

BIN = Path(sys.executable).parent
SEED = 7
HELPDESK_COLUMNS = ("external_id", "name", "email", "phone", "segment", "credit_status",
                    "syncgov_changed_at")
HELPDESK_MODEL = ("customer_id", "account_name", "email", "phone", "segment", "credit_status",
                  "_changed_at")


@dataclass
class Built:
    server: PostgresServer
    root: Path
    project: Path


@dataclass
class Copy:
    """A private copy of the built warehouse and its exports, delivering into database `db`."""

    built: Built
    root: Path
    db: str

    @property
    def warehouse(self) -> Path:
        return self.root / "syncgov.duckdb"

    @property
    def target(self) -> Path:
        return self.root / "target"

    def env(self, dsn: str | None = None) -> dict[str, str]:
        dsn = dsn or self.built.server.dsn(self.db)
        return {**os.environ, "DO_NOT_TRACK": "1", "SYNCGOV_HELPDESK_DSN": dsn,
                "SYNCGOV_STOREFRONT_DSN": dsn, "SYNCGOV_PROCUREMENT_DSN": dsn}

    def syncgov(self, *args: str, dsn: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "syncgov"), *args, "--warehouse", str(self.warehouse)],
            cwd=self.built.project, env=self.env(dsn), capture_output=True, text=True,
            timeout=600, check=False)

    def deliver(self, *args: str, dsn: str | None = None) -> subprocess.CompletedProcess:
        return self.syncgov("deliver", "--target-dir", str(self.target), *args, dsn=dsn)

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def pg(self, sql: str, params: tuple = ()) -> list[tuple]:
        con = self.built.server.connect(self.db)
        try:
            cur = con.cursor()
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
        finally:
            con.close()

    def counters(self, table: str) -> tuple[int, int, int]:
        con = self.built.server.connect(self.db)
        try:
            cur = con.cursor()
            cur.execute("select pg_stat_clear_snapshot()")
            cur.execute("select n_tup_ins, n_tup_upd, n_tup_del from pg_stat_user_tables"
                        " where relname = %s", (table,))
            return cur.fetchone()
        finally:
            con.close()

    def log(self, export_id: str) -> list[tuple]:
        return self.query(
            "select status, cause, rows_sent, rows_accepted, rows_rejected, rows_retried,"
            " watermark_confirmed, first_error, rows_deleted from audit.sync_delivery_log"
            " where export_id = ? order by attempted_at", [export_id])

    def dead_letters(self, export_id: str) -> dict[str, tuple]:
        return {json.loads(k)[0]: (status, attempts, reason, owner)
                for k, status, attempts, reason, owner in self.query(
                    "select key, status, attempts, reason, owner from audit.sync_dead_letters"
                    " where export_id = ?", [export_id])}

    def health(self) -> dict[str, dict]:
        out = self.syncgov("status", "--format", "json", "--registry",
                           str(self.built.project / "registry"))
        assert out.returncode in (0, 1), out.stderr
        return {h["export"]: h for h in json.loads(out.stdout)["outbound"]}


@pytest.fixture(scope="module")
def built(project_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("delivery")
    wh = Warehouse(project_dir, root)
    wh.simulate(seed=SEED, now=datetime.now(UTC), events=3000, entities=150, batches=4)
    wh.dbt("build")
    wh.dbt("source", "freshness", check=False)
    out = subprocess.run(
        [str(BIN / "syncgov"), "export", "--target-dir", str(wh.target), "--warehouse",
         str(wh.path), "--render", "drt"], cwd=project_dir, capture_output=True, text=True,
        timeout=600, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    with postgres_server() as server:
        yield Built(server, root, project_dir)


@pytest.fixture
def copy(built: Built, tmp_path: Path, request: pytest.FixtureRequest) -> Copy:
    shutil.copy(built.root / "syncgov.duckdb", tmp_path / "syncgov.duckdb")
    shutil.copytree(built.root / "target", tmp_path / "target")
    db = request.node.name.removeprefix("test_")[:60]
    built.server.create_database(db)
    return Copy(built, tmp_path, db)


def _model(copy: Copy) -> list[tuple]:
    return sorted(copy.query(f"select {', '.join(HELPDESK_MODEL)}"
                             " from exports.exp_helpdesk__customers"))


def _contacts(copy: Copy) -> list[tuple]:
    return sorted(copy.pg(f"select {', '.join(HELPDESK_COLUMNS)} from contacts"))


def test_a_missing_target_table_blocks_delivery_until_it_is_created_from_the_contract(
        copy: Copy) -> None:
    blocked = copy.deliver("--select", "storefront_product_availability")
    assert blocked.returncode == 3, blocked.stdout + blocked.stderr
    assert "target_missing: table product_availability does not exist" in blocked.stdout
    assert "Traceback" not in blocked.stderr
    assert copy.pg("select to_regclass('product_availability') is null") == [(True,)]
    [(status, cause, sent, accepted, _, _, confirmed, _, _)] = copy.log(
        "storefront_product_availability")
    assert (status, cause, sent, accepted, confirmed) == ("failed", "target_missing", 0, 0, None)
    assert copy.health()["storefront_product_availability"]["status"] == "failed"

    done = copy.deliver("--select", "storefront_product_availability", "--init-targets")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "created table product_availability" in done.stdout
    types = dict(copy.pg(
        "select column_name, case when data_type = 'numeric' then"
        " format('numeric(%%s, %%s)', numeric_precision, numeric_scale) else data_type end"
        " from information_schema.columns where table_name = 'product_availability'"))
    assert types == {"sku": "text", "title": "text", "category": "text", "status": "text",
                     "price": "numeric(18, 2)", "currency": "text",
                     "available_quantity": "bigint",
                     "syncgov_changed_at": "timestamp without time zone"}
    assert copy.pg("select a.attname from pg_index i join pg_attribute a on a.attrelid ="
                   " i.indrelid and a.attnum = any(i.indkey) where i.indrelid ="
                   " 'product_availability'::regclass and i.indisprimary") == [("sku",)]
    # Decimal and timestamp values arrive as themselves, not as text
    model = sorted(copy.query(
        "select sku, product_name, category, lifecycle_status, list_price, currency,"
        " quantity_on_hand, _changed_at from exports.exp_storefront__product_availability"))
    target = sorted(copy.pg("select sku, title, category, status, price, currency,"
                            " available_quantity, syncgov_changed_at from product_availability"))
    assert len(model) >= 20
    assert target == model
    assert copy.counters("product_availability") == (len(model), 0, 0)


def test_a_constraint_rejecting_some_rows_keeps_them_until_a_fix_delivers_them_once(
        copy: Copy) -> None:
    # the helpdesk's own rule: it refuses contacts whose id ends in 3 or 7
    assert copy.deliver("--select", "helpdesk_customers", "--dry-run",
                        "--init-targets").returncode == 3  # dry run: creates nothing
    copy.pg(CONTACTS_DDL)
    copy.pg("alter table contacts add constraint helpdesk_id_rule"
            " check (right(external_id, 1) not in ('3', '7'))")
    model = _model(copy)
    refused = {r[0] for r in model if r[0][-1] in "37"}
    assert 0 < len(refused) < len(model) // 2

    first = copy.deliver("--select", "helpdesk_customers")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "PARTIAL" in first.stdout
    assert _contacts(copy) == [r for r in model if r[0] not in refused]
    letters = copy.dead_letters("helpdesk_customers")
    assert set(letters) == refused
    assert all(s == "pending" and n == 1 and "helpdesk_id_rule" in why and "data-platform" in o
               for s, n, why, o in letters.values())
    [(status, cause, sent, accepted, rejected, _, confirmed, error, _)] = copy.log(
        "helpdesk_customers")
    assert (status, cause, sent, accepted, rejected) == (
        "partial", "target_rejection", len(model), len(model) - len(refused), len(refused))
    assert "helpdesk_id_rule" in error
    # the watermark is the newest accepted row, no further
    assert confirmed == max(r[-1] for r in model if r[0] not in refused)
    health = copy.health()["helpdesk_customers"]
    assert (health["status"], health["cause"], health["pending_dead_letters"]) == (
        "partial", "target_rejection", len(refused))

    # the next cycle re-sends only the dead letters; they fail again and gain an attempt
    again = copy.deliver("--select", "helpdesk_customers")
    assert again.returncode == 1
    assert copy.log("helpdesk_customers")[-1][2:6] == (len(refused), 0, len(refused),
                                                       len(refused))
    attempts = {k: v[1] for k, v in copy.dead_letters("helpdesk_customers").items()}
    assert attempts == dict.fromkeys(refused, 2)

    copy.pg("alter table contacts drop constraint helpdesk_id_rule")
    fixed = copy.deliver("--select", "helpdesk_customers")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert _contacts(copy) == model
    assert {v[0] for v in copy.dead_letters("helpdesk_customers").values()} == {"delivered"}
    # every row was written exactly once across the three attempts: one insert each
    assert copy.counters("contacts") == (len(model), 0, 0)
    assert copy.health()["helpdesk_customers"]["status"] == "current"
    # and a fourth run sends nothing
    quiet = copy.deliver("--select", "helpdesk_customers")
    assert quiet.returncode == 0
    assert copy.log("helpdesk_customers")[-1][:3] == ("empty", None, 0)
    assert copy.counters("contacts") == (len(model), 0, 0)


def test_a_target_that_is_down_keeps_the_watermark_and_the_next_run_delivers_everything(
        copy: Copy) -> None:
    down = copy.deliver("--select", "helpdesk_customers", "--init-targets",
                        dsn="host=127.0.0.1 port=1 user=postgres dbname=nowhere connect_timeout=2")
    assert down.returncode == 3, down.stdout + down.stderr
    assert "target_unreachable" in down.stdout
    assert "Traceback" not in down.stderr
    [(status, cause, sent, accepted, _, _, confirmed, _, _)] = copy.log("helpdesk_customers")
    assert (status, cause, sent, accepted, confirmed) == (
        "failed", "target_unreachable", 0, 0, None)
    health = copy.health()["helpdesk_customers"]
    assert (health["status"], health["cause"]) == ("failed", "target_unreachable")
    metrics = copy.syncgov("metrics", "--registry", str(copy.built.project / "registry"))
    assert metrics.returncode == 0, metrics.stderr
    assert ('syncgov_outbound_status{cause="target_unreachable",export="helpdesk_customers",'
            'status="failed",target="helpdesk.contacts"} 1.0') in metrics.stdout

    up = copy.deliver("--select", "helpdesk_customers", "--init-targets")
    assert up.returncode == 0, up.stdout + up.stderr
    model = _model(copy)
    assert _contacts(copy) == model
    assert copy.counters("contacts") == (len(model), 0, 0)
    assert copy.health()["helpdesk_customers"]["status"] == "current"


def test_a_manual_edit_in_the_target_is_found_by_target_reconciliation(copy: Copy) -> None:
    assert copy.deliver("--select", "storefront_product_availability",
                        "--init-targets").returncode == 0
    exports = ["--exports", str(copy.target / "exports"), "--select",
               "storefront_product_availability"]
    clean = copy.syncgov("reconcile-targets", *exports)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    skus = [r[0] for r in copy.pg("select sku from product_availability order by sku")]
    edited, removed = skus[0], skus[1]
    copy.pg("update product_availability set price = price + 1 where sku = %s", (edited,))
    copy.pg("delete from product_availability where sku = %s", (removed,))
    copy.pg("insert into product_availability (sku, title, syncgov_changed_at)"
            " values ('SKU-HAND-MADE', 'typed in by hand', now())")
    drifted = copy.syncgov("reconcile-targets", *exports)
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    diffs = copy.query("select key, kind, columns from audit.sync_target_differences"
                       " order by kind, key")
    assert diffs == [(json.dumps(["SKU-HAND-MADE"]), "extra", None),
                     (json.dumps([edited]), "mismatch", "price"),
                     (json.dumps([removed]), "missing", None)]
    [(status, rows_source, rows_target, same)] = copy.query(
        "select status, rows_source, rows_target, checksum_source = checksum_target"
        " from audit.sync_target_reconciliation order by reconciled_at desc limit 1")
    assert (status, rows_target, same) == ("drifted", rows_source, False)
    health = copy.health()["storefront_product_availability"]
    assert (health["status"], health["cause"]) == ("partial", "target_drift")


CONTACTS_DDL = ("create table contacts (external_id text primary key, name text, email text,"
                " phone text, segment text, credit_status text, syncgov_changed_at timestamp,"
                " syncgov_deleted_at timestamp)")


def test_a_tombstone_marks_the_helpdesk_row_and_removes_the_storefront_row(copy: Copy) -> None:
    customers = copy.query("select customer_id, _applied_at from state.customer_state"
                           " where _is_deleted order by customer_id")
    products = copy.query("select sku from state.product_state where _is_deleted order by sku")
    assert customers, "the simulation tombstones some customers"
    assert products, "the simulation tombstones some products"
    (gone, when), (discontinued,) = customers[0], products[0]
    # both systems still hold the entity from before its deletion
    copy.pg(CONTACTS_DDL)
    copy.pg("insert into contacts (external_id, name, syncgov_changed_at)"
            " values (%s, 'old', '2020-01-01')", (gone,))
    copy.pg("create table product_availability (sku text primary key, title text,"
            " category text, status text, price numeric(18, 2), currency text,"
            " available_quantity bigint, syncgov_changed_at timestamp)")
    copy.pg("insert into product_availability (sku, title) values (%s, 'old')", (discontinued,))

    done = copy.deliver("--select", "helpdesk_customers", "--select",
                        "storefront_product_availability")
    assert done.returncode == 0, done.stdout + done.stderr
    # soft_delete: the helpdesk keeps the contact, marked with when the warehouse deleted it
    assert copy.pg("select name, syncgov_deleted_at from contacts where external_id = %s",
                   (gone,)) == [("old", when)]
    assert copy.pg("select count(*) from contacts where syncgov_deleted_at is null") == [
        (len(_model(copy)),)]
    # delete: the storefront no longer lists the product
    assert copy.pg("select count(*) from product_availability where sku = %s",
                   (discontinued,)) == [(0,)]
    assert copy.counters("product_availability")[2] == 1
    assert copy.log("helpdesk_customers")[-1][-1] == 1
    assert copy.log("storefront_product_availability")[-1][-1] == 1
    # a tombstone already applied changes nothing the next time
    again = copy.deliver("--select", "helpdesk_customers")
    assert again.returncode == 0
    assert copy.log("helpdesk_customers")[-1][-1] == 0


def test_a_cycle_with_deliver_sends_and_confirms_what_it_published(
        copy: Copy, monkeypatch: pytest.MonkeyPatch) -> None:
    """`syncgov run --deliver`: delivery joins the cycle under its lock, after the gate; the
    cycle is an OpenLineage run with each export's run as its child."""
    events_file = copy.root / "openlineage.jsonl"
    monkeypatch.setenv("SYNCGOV_OPENLINEAGE_FILE", str(events_file))
    monkeypatch.delenv("OPENLINEAGE_URL", raising=False)
    def cycle() -> subprocess.CompletedProcess:
        return copy.syncgov("run", "--domain", "product", "--deliver", "--wait", "600",
                            "--project-dir", str(copy.built.project),
                            "--registry", str(copy.built.project / "registry"),
                            "--target-root", str(copy.root / "cycles"),
                            "--published", str(copy.root / "published"))

    first = cycle()  # the storefront's table does not exist yet: a finding, nothing confirmed
    assert first.returncode == 1, first.stdout + first.stderr
    assert "deliver" in first.stdout
    assert "storefront_product_availability failed" in first.stdout
    assert copy.query("select count(*) from audit.sync_delivery_log where status = 'delivered'"
                      " and export_id = 'storefront_product_availability'") == [(0,)]
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert all(not errors(e) for e in events), [errors(e) for e in events if errors(e)]
    cycle_runs = [e for e in events if e["job"]["name"].startswith("syncgov.run.")]
    assert [e["eventType"] for e in cycle_runs] == ["START", "COMPLETE"]
    run_id = cycle_runs[0]["run"]["runId"]
    children = [e for e in events if e["job"]["name"].startswith("syncgov.export.")]
    assert children
    assert {e["run"]["facets"]["parent"]["run"]["runId"] for e in children} == {run_id}
    assert any(d["name"].endswith("landing.pim__products") for d in cycle_runs[1]["inputs"])
    assert copy.deliver("--select", "storefront_product_availability", "--init-targets",
                        ).returncode == 0
    second = cycle()
    assert "storefront_product_availability failed" not in second.stdout, second.stdout
    assert [line for line in second.stdout.splitlines() if line.startswith("ok   deliver")]
    model = sorted(copy.query(
        "select sku, product_name, category, lifecycle_status, list_price, currency,"
        " quantity_on_hand, _changed_at from exports.exp_storefront__product_availability"))
    target = sorted(copy.pg("select sku, title, category, status, price, currency,"
                            " available_quantity, syncgov_changed_at from product_availability"))
    assert target == model
