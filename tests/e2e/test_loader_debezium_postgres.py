"""A real CDC source end to end: PostgreSQL 15 with wal_level=logical as the ERP, its changes
read through logical replication (pgoutput), landed in the Debezium / Kafka Connect shape,
mapped by the debezium adapter and run through staging, state and the controls. The oracle is
the live source tables, read back from PostgreSQL."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from tests.e2e.loader_harness import LandingTable, LoaderWarehouse, project_warehouse
from tests.e2e.pg_cdc import DebeziumLanding, PgoutputReader
from tests.e2e.postgres_server import postgres_server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("postgres_cdc")]

CUSTOMERS = (("customer_id", "string"), ("name", "string"), ("credit_limit", "money"), ("status", "string"))
PRODUCTS = (("sku", "string"), ("title", "string"), ("stock", "int"))


def _debezium_table(entity: str, columns: tuple, with_transactions: bool) -> LandingTable:
    raw = f"erp_public_{entity}"
    key = f"['{columns[0][0]}']"
    cols = "[" + ", ".join(f"'{c}'" for c, _ in columns) + "]"
    ledger_options = (
        f", data_collection='public.{entity}', transactions=source('raw', 'erp_transaction')"
        if with_transactions else ""
    )
    return LandingTable(
        system="erp", entity=entity, columns=columns, extract=True,
        raw_tables=(raw, "erp_transaction") if with_transactions else (raw,),
        landing=f"{{{{ debezium_events(source('raw', '{raw}'), 'erp', {key}, {cols}) }}}}",
        ledger=(f"{{{{ debezium_ledger(source('raw', '{raw}'), 'erp', 'erp__{entity}', {key}, {cols}"
                f"{ledger_options}) }}}}"),
    )


# customers reconcile against Debezium's transaction metadata; products have none
TABLES = [_debezium_table("customers", CUSTOMERS, True), _debezium_table("products", PRODUCTS, False)]


def _live(pg_con, t: LandingTable) -> dict[str, tuple]:
    cur = pg_con.cursor()
    cols = ", ".join(f"{c}::text" for c, _ in t.columns)
    cur.execute(f"select {cols} from public.{t.entity}")
    return {r[0]: tuple(r[1:]) for r in cur.fetchall()}


def _write_extracts(wh: LoaderWarehouse, pg_con) -> None:
    """Each source table as it is now in PostgreSQL, for sync_drift."""
    con = duckdb.connect(str(wh.path))
    try:
        for t in TABLES:
            rows = _live(pg_con, t)
            cols = ", ".join(f"{c} varchar" for c, _ in t.columns)
            con.execute(f"create or replace table landing.{t.name}_extract ({cols}, _extracted_at timestamp)")
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            con.executemany(f"insert into landing.{t.name}_extract values ({', '.join('?' * (len(t.columns) + 1))})",
                            [(k, *v, now) for k, v in rows.items()])
        con.execute("create schema if not exists landing")
    finally:
        con.close()


def _drift(wh: LoaderWarehouse, pg_con) -> set[tuple[str, str, str]]:
    _write_extracts(wh, pg_con)
    # each call writes new extracts (another _extracted_at): every table is compared again
    wh.dbt("run", "--select", "sync_drift_by_extract", "sync_drift")
    return set(wh.query("select landing_table, entity_key, drift_type from control.sync_drift"))


def _run(pg_con, *statements: str) -> None:
    cur = pg_con.cursor()
    for sql in statements:
        cur.execute(sql)


@pytest.fixture
def erp():
    # the reader sends no status updates while dbt runs between drains (Debezium would, every
    # few seconds): without wal_sender_timeout=0 the server drops the idle replication stream
    settings = {"wal_level": "logical", "max_replication_slots": "4", "max_wal_senders": "4",
                "wal_sender_timeout": "0"}
    with postgres_server(settings) as pg:
        con = pg.connect()
        _run(con,
             "create table customers (customer_id text primary key, name text,"
             " credit_limit numeric(12, 2), status text)",
             "create table products (sku text primary key, title text, stock integer)",
             "create publication syncgov_cdc for table customers, products",
             # rows from before the connector: its initial snapshot reads them
             "insert into customers values ('c0', 'Old', 5.00, 'good')", "insert into products values ('p0', 'Old', 1)")
        reader = PgoutputReader(pg.dsn())
        try:
            yield pg, con, reader
        finally:
            reader.close()
            con.close()


def test_state_equals_the_live_postgres_tables_and_late_changes_show_as_drift(erp, tmp_path):
    pg, con, reader = erp
    wh = project_warehouse(tmp_path, TABLES)
    landing = DebeziumLanding(str(wh.path))
    landing.land_snapshot(pg.dsn(), [("public", "customers"), ("public", "products")])
    ever_inserted: dict[str, set[str]] = {"customers": {"c0"}, "products": {"p0"}}

    _run(con,
         "insert into customers values ('c1', 'Ada', 1000.00, 'good'), ('c2', 'Bo', 200.50, 'good'),"
         " ('c3', 'Cy', 0, 'on_hold'), ('c4', 'Di', 75.25, 'good'), ('c5', 'Ed', 10, 'blocked')",
         "insert into products values ('p1', 'Bolt', 100), ('p2', 'Nut', 5), ('p3', 'Gear', 0)")
    # two updates of one row in one transaction: the same commit time, ordered by log position
    _run(con, "begin", "update customers set credit_limit = 1500.00 where customer_id = 'c1'",
         "update customers set name = 'Bob' where customer_id = 'c2'",
         "update customers set name = 'Bobby', credit_limit = 210.00 where customer_id = 'c2'", "commit")
    # a long transaction, open while others commit
    long_tx = pg.connect()
    long_tx.autocommit = False
    cur = long_tx.cursor()
    cur.execute("update customers set status = 'good' where customer_id = 'c3'")
    cur.execute("insert into customers values ('c6', 'Fay', 300, 'good')")
    _run(con, "delete from customers where customer_id = 'c4'", "insert into products values ('p4', 'Cog', 12)")
    cur.execute("update products set stock = 99 where sku = 'p1'")
    cur.execute("delete from customers where customer_id = 'c5'")
    for i in range(20):
        cur.execute("update products set stock = %s where sku = 'p3'", (i,))
    long_tx.commit()
    long_tx.close()
    _run(con, "insert into customers values ('c4', 'Di again', 80, 'on_hold')",  # re-created after its delete
         "delete from products where sku = 'p2'")
    ever_inserted["customers"] |= {"c1", "c2", "c3", "c4", "c5", "c6"}
    ever_inserted["products"] |= {"p1", "p2", "p3", "p4"}

    landing.land(reader.drain())
    wh.create_views()
    wh.cycle()

    for t in TABLES:
        live = _live(con, t)
        assert wh.state(t) == live, t.name
        assert wh.tombstones(t) == ever_inserted[t.entity] - set(live), t.name
        # every landed change accounted for: applied or superseded, none lost
        assert set(wh.dispositions(t)) == {"applied", "superseded"}, t.name
    assert wh.tombstones(TABLES[0]) == {"c5"}
    assert wh.tombstones(TABLES[1]) == {"p2"}

    # customers: every transaction's END record counts what landed, but the snapshot belongs to
    # no transaction; products: no sender counts at all
    customers = wh.reconciliation(TABLES[0])
    snapshot = [b for b in customers if not b[0].isdigit()]
    assert len(snapshot) == 1
    assert snapshot[0].startswith("txId:")
    assert customers.pop(snapshot[0]) == ("unverifiable", None, 1)
    assert len(customers) == 5
    assert {status for status, *_ in customers.values()} == {"reconciled"}
    products = wh.reconciliation(TABLES[1])
    assert len(products) == 5
    assert {status for status, *_ in products.values()} == {"unverifiable"}

    assert _drift(wh, con) == set()

    # a change after the last cycle is drift until the next cycle applies it
    _run(con, "update customers set credit_limit = 1.00 where customer_id = 'c1'",
         "delete from customers where customer_id = 'c6'", "insert into products values ('p5', 'Pin', 1)")
    assert _drift(wh, con) == {
        ("erp__customers", "c1", "value_mismatch"),
        ("erp__customers", "c6", "missing_in_source"),
        ("erp__products", "p5", "missing_in_warehouse"),
    }
    landing.land(reader.drain())
    wh.cycle()
    assert _drift(wh, con) == set()
    for t in TABLES:
        assert wh.state(t) == _live(con, t), t.name

    # a Kafka record lost between Debezium and the warehouse: its transaction's END record
    # announced more events than landed
    first = min(customers)
    lost = wh.query(
        "select kafka_offset from raw.erp_public_customers"
        f" where json_extract_string(record_value, '$.transaction.id') = '{first}' order by kafka_offset limit 1"
    )[0][0]
    w = duckdb.connect(str(wh.path))
    try:
        w.execute("delete from raw.erp_public_customers where kafka_offset = ?", [lost])
    finally:
        w.close()
    # the landed side is counted by sync_landed_batches (incremental: the batch whose count
    # changed is recounted), the reconciliation compares it with the ledger
    wh.dbt("run", "--select", "sync_landed_batches", "sync_reconciliation")
    after = wh.reconciliation(TABLES[0])
    assert after[first] == ("missing_rows", 5, 4)
    assert {s for b, (s, *_) in after.items() if b not in (first, snapshot[0])} == {"reconciled"}
