"""Every quarantine reason, one hand-made landing row each, through a real dbt build.

The rows share one batch with valid events: each bad row must get exactly its reason (the
first rule of the landing contract it breaks) and its evidence, the valid rows must be staged
and applied all the same, and timestamps with offsets must be converted to UTC.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from tests.e2e.conftest import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("quarantine")]

NOW = datetime(2026, 11, 24, 12)
BATCH = "erp__customers-hand"
OK_TS = "2026-11-24T11:59:00Z"

# event id -> (column overrides, expected reason); the base row is a valid upsert
CUSTOMER_ROWS: dict[str | None, tuple[dict, str | None]] = {
    None: ({}, "null_event_id"),
    "h-null-loaded": ({"_loaded_at": None}, "null_loaded_at"),
    "h-null-batch": ({"_sync_batch_id": None}, "null_batch_id"),
    "h-null-system": ({"_source_system": None}, "null_source_system"),
    "h-wrong-system": ({"_source_system": "crm"}, "wrong_source_system"),
    "h-future-load": ({"_loaded_at": datetime(2099, 1, 1)}, "future_loaded_at"),
    "h-null-key": ({"customer_id": None}, "null_key"),
    "h-merge": ({"_op": "merge"}, "invalid_op"),
    "h-zone-name": ({"_source_event_at": "2026-11-24 10:00:00 Europe/Berlin"}, "unparseable_timestamp"),
    "h-infinity": ({"_source_event_at": "infinity"}, "unparseable_timestamp"),
    "h-bad-day": ({"_source_event_at": "2026-02-30T10:00:00Z"}, "unparseable_timestamp"),
    "h-future-event": ({"_source_event_at": "2099-01-01T00:00:00Z"}, "future_event_at"),
    "h-rounding": ({"credit_limit": "12.345"}, "unparseable_number"),
    "h-hex": ({"credit_limit": "0x10"}, "unparseable_number"),
    "h-underscore": ({"credit_limit": "1_000"}, "unparseable_number"),
    "h-exponent": ({"credit_limit": "1e3"}, "unparseable_number"),
    "h-enum": ({"credit_status": "UNKNOWN"}, "invalid_enum"),
    "h-valid": ({}, None),
    "h-valid-upper-op": ({"_op": "UPSERT", "customer_id": "H0002"}, None),
    "h-plus-two": ({"customer_id": "H0003", "_source_event_at": "2026-11-24T12:00:00+02:00"}, None),
    "h-minus-five": ({"customer_id": "H0004", "_source_event_at": "2026-11-24T05:00:00-05:00"}, None),
    "h-plus-0530": ({"customer_id": "H0005", "_source_event_at": "2026-11-24T15:30:00+0530"}, None),
    "h-plus-01": ({"customer_id": "H0006", "_source_event_at": "2026-11-24 11:00+01"}, None),
}


def _land(wh: Warehouse, table: str, base: dict, rows: dict) -> None:
    con = duckdb.connect(str(wh.path))
    try:
        for event_id, (overrides, _reason) in rows.items():
            row = {**base, "_event_id": event_id, **overrides}
            cols = ", ".join(row)
            con.execute(f"insert into landing.{table} ({cols}) values ({', '.join('?' * len(row))})",
                        list(row.values()))
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(project_dir, tmp_path_factory) -> Warehouse:
    wh = Warehouse(project_dir, tmp_path_factory.mktemp("quarantine"))
    wh.simulate(seed=4, now=NOW, entities=60, events=1_500, batches=3)
    base = {"customer_id": "H0001", "credit_status": "good", "credit_limit": "1500.50",
            "payment_terms": "net_30", "billing_country": "DE", "email": "a@example.com",
            "_source_system": "erp", "_op": "upsert", "_source_event_at": OK_TS,
            "_loaded_at": datetime(2026, 11, 24, 12, 1), "_sync_batch_id": BATCH}
    _land(wh, "erp__customers", base, CUSTOMER_ROWS)
    _land(wh, "wms__inventory_movements",
          {"sku": "SKU-00001", "site_id": "DC-BER", "movement_type": "pick", "movement_qty": "-3",
           "_source_system": "wms", "_op": "upsert", "_source_event_at": OK_TS,
           "_loaded_at": datetime(2026, 11, 24, 12, 1), "_sync_batch_id": "wms-hand"},
          {"h-negative": ({"quantity_on_hand": "-5"}, "negative_quantity"),
           "h-qty-fraction": ({"quantity_on_hand": "12.5"}, "unparseable_number")})
    _land(wh, "oms__orders",
          {"order_id": "O-H1", "customer_id": "C000001", "order_total": "10.00", "currency": "EUR",
           "order_status": "placed", "_source_system": "oms", "_op": "upsert",
           "_source_event_at": OK_TS, "_loaded_at": datetime(2026, 11, 24, 12, 1),
           "_sync_batch_id": "oms-hand"},
          {"h-ordered-at": ({"ordered_at": "yesterday"}, "unparseable_timestamp")})
    wh.dbt("build")  # bad rows must not fail the build: they are quarantined
    return wh


def test_each_bad_row_gets_its_own_reason_and_valid_rows_are_applied(built) -> None:
    staged = {r[0]: r[1] for r in built.query(
        f"select _event_id, _quarantine_reason from staging.stg_erp__customers"
        f" where _event_id like 'h-%' or _event_id like 'missing-id:%'"
        f" or _sync_batch_id = '{BATCH}' or _sync_batch_id is null"
    )}
    missing_id = [k for k in staged if k.startswith("missing-id:")]
    assert len(missing_id) == 1
    assert staged.pop(missing_id[0]) == "null_event_id"
    assert staged == {k: reason for k, (_, reason) in CUSTOMER_ROWS.items() if k is not None}
    held = {r[0] for r in built.query(
        "select _event_id from state.state_erp__customers where customer_id like 'H%'")}
    assert held == {k for k, (_, reason) in CUSTOMER_ROWS.items() if k and reason is None}
    others = dict(built.query(
        "select _event_id, _quarantine_reason from staging.stg_wms__inventory_movements"
        " where _event_id like 'h-%' union all select _event_id, _quarantine_reason"
        " from staging.stg_oms__orders where _event_id like 'h-%'"
    ))
    assert others == {"h-negative": "negative_quantity", "h-qty-fraction": "unparseable_number",
                      "h-ordered-at": "unparseable_timestamp"}


def test_the_evidence_names_the_field_and_the_raw_value(built) -> None:
    detail = dict(built.query(
        "select _event_id, _quarantine_detail from staging.stg_erp__customers"
        " where _event_id in ('h-rounding', 'h-wrong-system', 'h-zone-name')"
    ))
    assert detail == {
        "h-rounding": "credit_limit = 12.345",
        "h-wrong-system": "_source_system = crm, expected erp",
        "h-zone-name": "_source_event_at = 2026-11-24 10:00:00 Europe/Berlin",
    }


def test_offsets_are_converted_to_utc(built) -> None:
    times = dict(built.query(
        "select _event_id, _source_event_at from staging.stg_erp__customers"
        " where _event_id in ('h-plus-two', 'h-minus-five', 'h-plus-0530', 'h-plus-01', 'h-valid')"
    ))
    assert times == {
        "h-valid": datetime(2026, 11, 24, 11, 59),
        "h-plus-two": datetime(2026, 11, 24, 10, 0),
        "h-minus-five": datetime(2026, 11, 24, 10, 0),
        "h-plus-0530": datetime(2026, 11, 24, 10, 0),
        "h-plus-01": datetime(2026, 11, 24, 10, 0),
    }


def test_every_quarantined_row_is_accounted_for(built) -> None:
    (bad,) = built.query(
        "select count(*) from control.sync_event_dispositions"
        " where disposition not in ('applied', 'superseded', 'duplicate', 'duplicate_conflict',"
        " 'quarantined')"
    )[0]
    assert bad == 0
    reasons = dict(built.query(
        "select quarantine_reason, count(*) from control.sync_event_dispositions"
        " where landing_table = 'erp__customers' and (_event_id like 'h-%'"
        " or _event_id like 'missing-id:%') and disposition = 'quarantined' group by 1"
    ))
    expected: dict[str, int] = {}
    for _, reason in CUSTOMER_ROWS.values():
        if reason:
            expected[reason] = expected.get(reason, 0) + 1
    assert reasons == expected
