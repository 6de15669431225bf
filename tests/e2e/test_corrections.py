"""Approved manual corrections win over every source, appear in metadata and in the audit trail."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from tests.e2e.conftest import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("corrections")]


def test_corrections_apply_incrementally_and_withdraw(project_dir, tmp_path) -> None:
    wh = Warehouse(project_dir, tmp_path)
    wh.simulate(seed=2, now=datetime(2026, 11, 24, 12), entities=100, events=5_000, batches=4)
    wh.dbt("build")
    # the shipped seed: COR-0001 and COR-0002 are in force, COR-0003 takes effect in 2099
    applied = dict(wh.query(
        "select correction_id, is_applied from control.sync_corrections_applied"
    ))
    assert applied == {"COR-0001": True, "COR-0002": True, "COR-0003": False}
    assert wh.query(
        "select credit_status, _corrections from state.customer_state where customer_id = 'C000007'"
    ) == [("on_hold", "COR-0001")]

    # A steward approves a new correction (the seed table as `dbt seed` would load it).
    con = duckdb.connect(str(wh.path))
    con.execute(
        "insert into governance.manual_corrections values ('COR-9000', 'supplier', 'SUP-0001',"
        " 'risk_score', '99', 'confirmed sanctions hit', 'ops@example.com', 'SRM-1',"
        " timestamp '2026-01-01')"
    )
    con.close()
    wh.dbt("run", "--select", "supplier_state")
    assert wh.query(
        "select risk_score, _corrections from state.supplier_state where supplier_id = 'SUP-0001'"
    ) == [(99, "COR-9000")]

    # Withdrawn: the next incremental run restores the source value.
    con = duckdb.connect(str(wh.path))
    con.execute("delete from governance.manual_corrections where correction_id = 'COR-9000'")
    expected = con.execute(
        "select risk_score from state.state_srm__supplier_risk where supplier_id = 'SUP-0001'"
    ).fetchone()[0]
    con.close()
    wh.dbt("run", "--select", "supplier_state")
    assert wh.query(
        "select risk_score, _corrections from state.supplier_state where supplier_id = 'SUP-0001'"
    ) == [(expected, None)]
