"""A real dlt pipeline (append resource into DuckDB) through the dlt adapter: state equals the
source's change log, deletes are tombstones, and loads reconcile against the row counts dlt's
own normalize step reports — or are `unverifiable` without them."""

from __future__ import annotations

import dlt
import duckdb
import pytest

from tests.e2e.loader_harness import LandingTable, project_warehouse

pytestmark = pytest.mark.slow

COLUMNS = (("supplier_id", "string"), ("name", "string"), ("rating", "int"))
OPTIONS = "event_at_column='updated_at', deleted_column='deleted'"
COLS = "['supplier_id', 'name', 'rating']"

# The supplier system's change log, in the loads the pipeline made of it. Load 3 re-sends a
# change of load 2 (an overlapping cursor) and an older change that arrives late.
LOADS = [
    [("s1", "Acme", 3, "2026-11-01T08:00:00Z", False), ("s2", "Bolt", 4, "2026-11-01T08:05:00Z", False),
     ("s3", "Cogs", 2, "2026-11-01T08:10:00Z", False)],
    [("s1", "Acme Ltd", 4, "2026-11-02T09:00:00Z", False), ("s3", "Cogs", 2, "2026-11-02T09:30:00Z", True),
     ("s4", "Dyna", 5, "2026-11-02T09:45:00Z", False)],
    [("s4", "Dyna", 5, "2026-11-02T09:45:00Z", False), ("s2", "Bolt", 1, "2026-11-01T07:00:00Z", False),
     ("s5", "Echo", 3, "2026-11-03T10:00:00Z", False)],
]


def _oracle() -> tuple[dict[str, tuple], set[str]]:
    latest: dict[str, tuple] = {}
    for change in (c for load in LOADS for c in load):
        key, name, rating, at, deleted = change
        prior = latest.get(key)
        if prior is None or (at, deleted) > (prior[2], prior[3]):
            latest[key] = (name, str(rating), at, deleted)
    live = {k: (v[0], v[1]) for k, v in latest.items() if not v[3]}
    return live, {k for k, v in latest.items() if v[3]}


def _table(entity: str, counted: bool) -> LandingTable:
    resource, loads = "source('raw', 'suppliers')", "source('raw', '_dlt_loads')"
    counts = ", table_name='suppliers', row_counts=source('raw', 'load_row_counts')" if counted else ""
    return LandingTable(
        "srm", entity, COLUMNS, raw_tables=("suppliers", "_dlt_loads", "load_row_counts"),
        landing=f"{{{{ dlt_events({resource}, 'srm', ['supplier_id'], {COLS}, {loads}, {OPTIONS}) }}}}",
        ledger=(f"{{{{ dlt_ledger({resource}, 'srm', 'srm__{entity}', ['supplier_id'], {COLS}, {loads},"
                f" {OPTIONS}{counts}) }}}}"),
    )


def test_dlt_pipeline_state_equals_the_change_log_and_reconciles_on_dlt_row_counts(tmp_path):
    # the same resource twice: once with the pipeline's row counts, once without
    tables = [_table("suppliers", counted=True), _table("supplier_feed", counted=False)]
    wh = project_warehouse(tmp_path, tables)

    @dlt.resource(name="suppliers", primary_key="supplier_id", write_disposition="append")
    def suppliers(rows):
        for key, name, rating, at, deleted in rows:
            yield {"supplier_id": key, "name": name, "rating": rating, "updated_at": at, "deleted": deleted}

    pipeline = dlt.pipeline(pipeline_name="srm", destination=dlt.destinations.duckdb(str(wh.path)),
                            dataset_name="raw", pipelines_dir=str(tmp_path / "dlt"))
    for i, load in enumerate(LOADS):
        pipeline.run(suppliers(load))
        normalized = pipeline.last_trace.last_normalize_info
        # the pipeline records what dlt says it normalized, per load and table
        pipeline.run([{"load_id": load_id, "table_name": table, "row_count": n}
                      for load_id in normalized.loads_ids
                      for table, n in normalized.row_counts.items() if not table.startswith("_dlt")],
                     table_name="load_row_counts", write_disposition="append")
        if i == 0:
            wh.create_views()
        wh.cycle()

    live, deleted = _oracle()
    for t in tables:
        assert wh.state(t) == live, t.name
        assert wh.tombstones(t) == deleted == {"s3"}, t.name
        # the re-sent change is a duplicate, the late older change superseded, nothing lost
        assert wh.dispositions(t) == {"applied": 5, "superseded": 3, "duplicate": 1}, t.name

    counted = wh.reconciliation(tables[0])
    assert len(counted) == 3
    assert set(counted.values()) == {("reconciled", 3, 3)}
    uncounted = wh.reconciliation(tables[1])
    assert len(uncounted) == 3
    assert {s for s, *_ in uncounted.values()} == {"unverifiable"}
    # load 3 re-sent a change of load 2: one event, delivered twice
    assert wh.query("select count(*), count(distinct _event_id) from landing.srm__suppliers") == [(9, 8)]

    # rows of a load dlt has not recorded as completed have not landed yet
    con = duckdb.connect(str(wh.path))
    try:
        con.execute("insert into raw.suppliers (supplier_id, name, rating, updated_at, deleted, _dlt_load_id, _dlt_id)"
                    " values ('s9', 'Zed', 1, '2026-11-04T00:00:00Z', false, '1999999999.6', 'x')")
        assert con.execute("select count(*) from landing.srm__suppliers").fetchone() == (9,)
        con.execute("insert into raw._dlt_loads (load_id, schema_name, status, inserted_at)"
                    " values ('1999999999.6', 'srm', 1, now())")
        assert con.execute("select count(*) from landing.srm__suppliers").fetchone() == (9,)
        con.execute("update raw._dlt_loads set status = 0 where load_id = '1999999999.6'")
        assert con.execute("select count(*) from landing.srm__suppliers").fetchone() == (10,)
    finally:
        con.close()
