"""Volume anomalies on real dbt builds: a flow that delivers a tenth of its usual rows, on
time and reconciled, turns its domain non-current with a volume reason; thirty simulated days
of the demo's normal data (every other fault on) raise none."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from governance.simulate.faults import DEMO_FAULTS, FaultRates
from tests.e2e.conftest import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("volume")]

# seed 3 drops pim__products (LANDING_TABLES[3 % 11]): the product domain, whose day-long SLO
# keeps "on time" true however long the build takes on a busy machine
DROP_SEED = 3
NORMAL = dataclasses.replace(DEMO_FAULTS, volume_drop=0.0)


def truth(wh: Warehouse) -> dict:
    return json.loads((wh.path.with_name("simulate_truth.json")).read_text())


def test_a_drop_to_a_tenth_on_time_makes_the_domain_partial_with_a_volume_reason(
        project_dir: Path, tmp_path: Path) -> None:
    wh = Warehouse(project_dir, tmp_path)
    now = datetime.now(UTC)
    wh.simulate(seed=DROP_SEED, now=now - timedelta(minutes=30), events=20_000, entities=150,
                batches=24)
    wh.simulate(now=now, batches=2, faults=FaultRates(volume_drop=1.0), append=True)
    table = truth(wh)["run"]["volume_drop_table"]
    assert table == "pim__products"
    wh.dbt("build")

    sent = wh.query(f"select rows_sent from landing.sync_batches where landing_table = '{table}'"
                    " order by sequence_number")
    usual, dropped = sent[-3][0], sent[-1][0]
    assert (usual, dropped) == (50, 5)  # 20,000 events x 6 % / 24 batches; a tenth of it
    (row,) = wh.query(f"""
        select anomaly, rows_in_batch, baseline_kind, baseline_mean
        from control.sync_volume_anomalies where landing_table = '{table}' and is_latest""")
    assert row[0] == "drop"
    assert row[1] == dropped
    assert row[2] in ("recent", "hour_of_week")
    # reconciled and on time: the volume is the only thing wrong
    (recon,) = wh.query(f"""select count(*) from control.sync_reconciliation
        where landing_table = '{table}' and not is_reconciled""")
    assert recon == (0,)
    health = {(r[0], r[1]): r[2:] for r in wh.query(
        "select level, coalesce(flow, domain), status, reason, staleness_minutes, slo_minutes"
        " from control.sync_health where domain = 'product'")}
    status, reason, staleness, slo = health[("flow", table)]
    assert status == "partial"
    assert staleness <= slo
    assert reason.startswith(f"{table}: volume drop, {int(dropped)} rows in batch ")
    assert f"against a baseline of {round(row[3])}" in reason
    assert health[("domain", "product")][:2] == ("partial", reason)
    assert health[("flow", "erp__products")][0] == "current"
    # no other flow is judged anomalous
    others = wh.query("select landing_table from control.sync_volume_anomalies"
                      f" where is_latest and is_anomaly and landing_table <> '{table}'")
    assert others == []


def test_thirty_days_of_the_demo_data_raise_no_volume_anomaly(project_dir: Path,
                                                              tmp_path: Path) -> None:
    """Day by day, 24 batches per table per day with every demo fault but volume_drop; only
    the volume models are built (they read the ledger and the landing tables)."""
    wh = Warehouse(project_dir, tmp_path)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    wh.simulate(seed=42, now=start, events=4000, entities=150, batches=24, faults=NORMAL)
    for day in range(1, 30):
        wh.simulate(now=start + timedelta(days=day), batches=24, faults=NORMAL, append=True)
    wh.dbt("seed", "--select", "volume_policies")
    wh.dbt("run", "--select", "sync_landed_batches", "sync_reconciliation",
           "sync_volume_anomalies")

    judged = dict(wh.query("""select coalesce(baseline_kind, 'none'), count(*)
        from control.sync_volume_anomalies group by 1"""))
    span = wh.query("select min(finished_at), max(finished_at) from landing.sync_batches")[0]
    assert span[1] - span[0] >= timedelta(days=29)
    assert judged.get("recent", 0) > 3000, judged
    assert judged.get("hour_of_week", 0) > 300, judged  # seasonality engaged where it could
    assert wh.query("select count(*) from control.sync_volume_anomalies where is_anomaly") == [
        (0,)]

    # the same warehouse, one more day with the drop: now it is caught, and only there
    wh.simulate(now=start + timedelta(days=30), batches=24,
                faults=dataclasses.replace(NORMAL, volume_drop=0.1), append=True)
    wh.dbt("run", "--select", "sync_landed_batches", "sync_reconciliation",
           "sync_volume_anomalies")
    table = truth(wh)["run"]["volume_drop_table"]
    flagged = wh.query("select distinct landing_table, anomaly from control.sync_volume_anomalies"
                       " where is_anomaly")
    assert flagged == [(table, "drop")]
    assert wh.query(f"select is_anomaly from control.sync_volume_anomalies"
                    f" where landing_table = '{table}' and is_latest") == [(True,)]
