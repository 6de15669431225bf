"""The simulator against facts computed independently from what it wrote."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from governance.errors import InputError, UsageError
from governance.simulate import SimulationParams, simulate
from governance.simulate.catalog import LANDING_TABLES, SOURCE_SYSTEMS
from governance.simulate.faults import DEMO_FAULTS, FaultRates

NOW = datetime(2026, 11, 24, 12, 0, 0)


def _run(tmp: Path, **kw) -> Path:
    wh = tmp / "w.duckdb"
    params = {"warehouse": wh, "seed": 7, "now": NOW, "entities": 200, "events": 5000,
              "batches": 10, "faults": DEMO_FAULTS} | kw
    simulate(SimulationParams(**params))
    return wh


def _fingerprint(wh: Path) -> dict[str, tuple]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        out = {}
        for t in LANDING_TABLES:
            out[t.name] = con.execute(
                f"select count(*), sum(hash(columns(*))) from landing.{t.name}"
            ).fetchone()
        out["ledger"] = con.execute(
            "select count(*), sum(hash(columns(*))) from landing.sync_batches"
        ).fetchone()
        return out
    finally:
        con.close()


def test_same_seed_and_now_give_identical_landing_zones(tmp_path: Path) -> None:
    a = _fingerprint(_run(tmp_path / "a"))
    b = _fingerprint(_run(tmp_path / "b"))
    c = _fingerprint(_run(tmp_path / "c", seed=8))
    assert a == b
    assert a != c


def test_landing_contract_columns(tmp_path: Path) -> None:
    con = duckdb.connect(str(_run(tmp_path)), read_only=True)
    for t in LANDING_TABLES:
        cols = [r[0] for r in con.execute(f"describe landing.{t.name}").fetchall()]
        assert cols[-6:] == ["_event_id", "_source_system", "_op", "_source_event_at",
                             "_loaded_at", "_sync_batch_id"]
        systems = dict(con.execute(
            f"select _source_system, count(*) from landing.{t.name} group by 1"
        ).fetchall())
        # wrong_source_system and null_metadata send a few rows as another system or none
        assert set(systems) <= {*SOURCE_SYSTEMS, None}
        assert systems[t.system] > 0.97 * sum(systems.values()), systems
    ledger_cols = [r[0] for r in con.execute("describe landing.sync_batches").fetchall()]
    assert {"batch_id", "source_system", "entity", "sequence_number", "started_at", "finished_at",
            "status", "rows_sent", "event_id_checksum"} <= set(ledger_cols)


def _ledger_and_landed(con: duckdb.DuckDBPyConnection, table: str, batch_id: str) -> tuple:
    """The ledger's status and rows sent for a batch, and the rows of it that landed."""
    status, sent = con.execute(
        "select status, rows_sent from landing.sync_batches where batch_id = ?", [batch_id]
    ).fetchone()
    (landed,) = con.execute(
        f"select count(*) from landing.{table} where _sync_batch_id = ?", [batch_id]
    ).fetchone()
    return status, sent, landed


def test_truth_file_agrees_with_what_landed(tmp_path: Path) -> None:
    wh = _run(tmp_path)
    truth = json.loads((tmp_path / "simulate_truth.json").read_text())
    con = duckdb.connect(str(wh), read_only=True)
    for t in LANDING_TABLES:
        entry = truth["tables"][t.name]
        rows, distinct, no_id = con.execute(
            f"select count(*), count(distinct _event_id), count(*) filter (where _event_id is null)"
            f" from landing.{t.name}"
        ).fetchone()
        assert entry["totals"]["rows_landed"] == rows
        # a delivery without an event id is an event of its own
        assert entry["totals"]["events_landed"] == distinct + no_id
        redelivered = entry["totals"]["duplicates"] + entry["totals"]["conflicting_redeliveries"]
        assert redelivered == rows - distinct - no_id
        for batch_id in entry["missing_batches"]:
            status, sent, landed = _ledger_and_landed(con, t.name, batch_id)
            assert (status, landed) == ("success", 0)
            assert sent > 0
        for batch_id in entry["partial_batches"]:
            status, sent, landed = _ledger_and_landed(con, t.name, batch_id)
            assert status == "partial"
            assert landed < sent
        for batch_id in entry["stalled_batches"]:
            assert con.execute(
                "select count(*) from landing.sync_batches where batch_id = ?", [batch_id]
            ).fetchone()[0] == 0
    # the stalled system is the only one whose ledger ends early
    stalled = truth["run"]["stalled_system"]
    last = dict(con.execute(
        "select source_system, max(finished_at) from landing.sync_batches group by 1"
    ).fetchall())
    assert min(last, key=last.get) == stalled
    # every injected fault shows up
    totals = truth["totals"]
    for key in ("duplicates", "out_of_order", "late", "conflicts", "invalid_null_key",
                "invalid_enum", "invalid_unparseable_timestamp", "invalid_negative_quantity"):
        assert totals[key] > 0, key


def test_invalid_records_are_really_invalid(tmp_path: Path) -> None:
    """Each invalid kind the truth file counts is visible in the raw landing rows."""
    wh = _run(tmp_path, faults=FaultRates(invalid=0.2))
    truth = json.loads((tmp_path / "simulate_truth.json").read_text())
    con = duckdb.connect(str(wh), read_only=True)
    wms = truth["tables"]["wms__inventory_movements"]["totals"]
    negative = con.execute(
        "select count(*) from landing.wms__inventory_movements where try_cast(quantity_on_hand as int) < 0"
    ).fetchone()[0]
    null_key = con.execute(
        "select count(*) from landing.wms__inventory_movements where sku is null"
    ).fetchone()[0]
    assert negative == wms["invalid_negative_quantity"] > 0
    assert null_key == wms["invalid_null_key"] > 0


def test_append_continues_the_sequence(tmp_path: Path) -> None:
    wh = _run(tmp_path, faults=FaultRates())
    simulate(SimulationParams(warehouse=wh, now=datetime(2026, 11, 24, 13, 0), batches=2, append=True))
    con = duckdb.connect(str(wh), read_only=True)
    seqs = con.execute(
        "select landing_table, list(sequence_number order by sequence_number) from landing.sync_batches group by 1"
    ).fetchall()
    for _table, seq in seqs:
        assert seq == list(range(12))
    (dups,) = con.execute(
        "select count(*) - count(distinct _event_id) from landing.oms__orders"
    ).fetchone()
    assert dups == 0, "appended events get new ids"
    (newest,) = con.execute("select max(finished_at) from landing.sync_batches").fetchone()
    assert newest <= datetime(2026, 11, 24, 13, 0)


def test_append_needs_an_existing_landing_zone(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        simulate(SimulationParams(warehouse=tmp_path / "none.duckdb", append=True))
    assert not (tmp_path / "none.duckdb").exists()


def test_refuses_to_overwrite_without_append(tmp_path: Path) -> None:
    wh = _run(tmp_path)
    with pytest.raises(UsageError, match="--append"):
        simulate(SimulationParams(warehouse=wh, now=NOW))
