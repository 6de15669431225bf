"""Airbyte (destinations v2), Fivetran and Debezium-through-the-Snowflake-Kafka-connector landing
shapes, rendered from one source change log with the tools' documented column names, through
their adapters: state equals the change log's outcome over two syncs; deletes are tombstones
where the tool carries them (Airbyte CDC, Fivetran history and soft-delete modes, Debezium; not
an Airbyte cursor sync); no batch is `reconciled`, since none of these writes what it sent into
the destination (Debezium without its transaction topic)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import duckdb
import pytest

from tests.e2e.loader_harness import LandingTable, LoaderWarehouse, project_warehouse

pytestmark = pytest.mark.slow

COLUMNS = (("account_id", "string"), ("name", "string"), ("tier", "int"))
COLS = "['account_id', 'name', 'tier']"
UTC = dt.UTC

# The CRM's own change log: (key, name, tier, changed at, op); position = index + 1.
CHANGES = [
    ("a1", "Acme", 1, "2026-11-01T08:00:00", "upsert"),
    ("a2", "Bolt", 2, "2026-11-01T08:01:00", "upsert"),
    ("a3", "Cogs", 1, "2026-11-01T08:02:00", "upsert"),
    ("a1", "Acme Ltd", 2, "2026-11-02T09:00:00", "upsert"),
    ("a3", None, None, "2026-11-02T10:00:00", "delete"),
    # second sync
    ("a2", "Bolt", 3, "2026-11-03T08:00:00", "upsert"),
    ("a4", "Dyna", 1, "2026-11-03T08:30:00", "upsert"),
    ("a4", "Dyna", 2, "2026-11-03T09:00:00", "upsert"),
    ("a2", None, None, "2026-11-04T07:00:00", "delete"),
    ("a3", "Cogs again", 3, "2026-11-04T08:00:00", "upsert"),
]
SYNCS = [(5, dt.datetime(2026, 11, 2, 12, tzinfo=UTC)), (10, dt.datetime(2026, 11, 4, 12, tzinfo=UTC))]


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def _oracle(upto: int, carries_deletes: bool = True) -> tuple[dict[str, tuple], set[str]]:
    latest: dict[str, tuple] = {}
    for key, name, tier, _, op in CHANGES[:upto]:
        if op == "delete" and not carries_deletes:
            continue
        latest[key] = (name, None if tier is None else str(tier), op)
    return ({k: v[:2] for k, v in latest.items() if v[2] == "upsert"},
            {k for k, v in latest.items() if v[2] == "delete"})


def _land(con, synced_upto: int, sync_id: int, synced_at: dt.datetime, previous: int) -> None:
    """What each tool holds after a sync that read the change log up to `synced_upto`."""
    # Airbyte raw, CDC: every change once; the second sync re-extracts the first sync's last
    # change (at-least-once delivery after a checkpoint)
    first = max(previous - 1, 0)
    for i in range(first, synced_upto):
        key, name, tier, at, op = CHANGES[i]
        data = {"account_id": key, "name": name, "tier": tier, "_ab_cdc_lsn": 1000 + i,
                "_ab_cdc_updated_at": at + "Z", "_ab_cdc_deleted_at": at + "Z" if op == "delete" else None}
        con.execute("insert into raw.airbyte_cdc values (?, ?, ?, ?, ?, 0)",
                    [str(uuid.uuid4()), synced_at, synced_at, json.dumps(data),
                     json.dumps({"sync_id": sync_id, "changes": []})])
    # Airbyte final table of an incremental append sync on the cursor `updated_at`: no deletes
    for key, name, tier, at, op in CHANGES[previous:synced_upto]:
        if op == "upsert":
            con.execute("insert into raw.airbyte_cursor values (?, ?, ?, ?, ?, ?, ?, 0)",
                        [key, name, tier, _ts(at), str(uuid.uuid4()), synced_at,
                         json.dumps({"sync_id": sync_id, "changes": []})])
    # Debezium through the Snowflake Kafka connector: RECORD_METADATA / RECORD_CONTENT, one
    # source transaction per change, a Kafka tombstone after each delete, and the first sync's
    # last record delivered again (same offset) by the connector
    push_ms = int(synced_at.timestamp() * 1000)
    for i in range(first, synced_upto):
        key, name, tier, at, op = CHANGES[i]
        seen = any(c[0] == key for c in CHANGES[:i])
        row = {"account_id": key, "name": name, "tier": tier}
        content = {"before": {"account_id": key, "name": None, "tier": None} if op == "delete" else None,
                   "after": None if op == "delete" else row,
                   "op": "d" if op == "delete" else ("u" if seen else "c"),
                   "source": {"connector": "postgresql", "schema": "public", "table": "accounts",
                              "ts_ms": int(_ts(at).timestamp() * 1000), "txId": 500 + i, "lsn": 1000 + i},
                   "ts_ms": push_ms}
        records = [content, None] if op == "delete" else [content]
        for n, record in enumerate(records):
            offset = 2 * i + n
            meta = {"topic": "crm.public.accounts", "partition": 0, "offset": offset,
                    "CreateTime": push_ms, "SnowflakeConnectorPushTime": push_ms}
            con.execute("insert into raw.debezium_snowflake values (?, ?)",
                        [json.dumps(meta), None if record is None else json.dumps(record)])
    # Fivetran, both modes: the table as Fivetran leaves it after this sync
    con.execute("delete from raw.fivetran_history")
    con.execute("delete from raw.fivetran_soft")
    written = {i: SYNCS[0][1] if i < SYNCS[0][0] else SYNCS[1][1] for i in range(len(CHANGES))}
    by_key: dict[str, list[int]] = {}
    for i in range(synced_upto):
        by_key.setdefault(CHANGES[i][0], []).append(i)
    for key, idx in by_key.items():
        upserts = [i for i in idx if CHANGES[i][4] == "upsert"]
        for i in upserts:
            later = [j for j in idx if j > i]
            end = _ts(CHANGES[later[0]][3]) if later else dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
            if later and CHANGES[later[0]][4] == "upsert":
                end -= dt.timedelta(milliseconds=1)
            active = not later
            con.execute("insert into raw.fivetran_history values (?, ?, ?, ?, ?, ?, ?)",
                        [key, CHANGES[i][1], CHANGES[i][2], _ts(CHANGES[i][3]), end, active, written[i]])
        last = idx[-1]
        shown = upserts[-1] if upserts else last
        con.execute("insert into raw.fivetran_soft values (?, ?, ?, ?, ?)",
                    [key, CHANGES[shown][1], CHANGES[shown][2], CHANGES[last][4] == "delete", written[last]])


def _table(entity: str, kind: str, options: str) -> LandingTable:
    """Through the generic entry points the registry's generated views call."""
    source = f"source('raw', '{entity}')"
    return LandingTable(
        "crm", entity, COLUMNS, raw_tables=(entity,),
        landing=f"{{{{ loader_landing('{kind}', {source}, 'crm', ['account_id'], {COLS}, {options}) }}}}",
        ledger=(f"{{{{ loader_ledger('{kind}', {source}, 'crm', 'crm__{entity}', ['account_id'], {COLS},"
                f" {options}) }}}}"),
    )


TABLES = {
    "airbyte_cdc": _table("airbyte_cdc", "airbyte", "{'table': 'raw', 'cdc': true}"),
    "airbyte_cursor": _table("airbyte_cursor", "airbyte", "{'table': 'final', 'cursor': 'updated_at'}"),
    "fivetran_history": _table("fivetran_history", "fivetran", "{'mode': 'history'}"),
    "fivetran_soft": _table("fivetran_soft", "fivetran", "{'mode': 'soft_delete'}"),
    "debezium_snowflake": _table("debezium_snowflake", "debezium",
                                 "{'shape': 'snowflake_kafka', 'event_id': 'source_position'}"),
}


def _create_raw(wh: LoaderWarehouse) -> None:
    con = duckdb.connect(str(wh.path))
    try:
        con.execute("create schema raw")
        con.execute("create table raw.airbyte_cdc (_airbyte_raw_id varchar, _airbyte_extracted_at timestamptz,"
                    " _airbyte_loaded_at timestamptz, _airbyte_data json, _airbyte_meta json,"
                    " _airbyte_generation_id bigint)")
        con.execute("create table raw.airbyte_cursor (account_id varchar, name varchar, tier bigint,"
                    " updated_at timestamptz, _airbyte_raw_id varchar, _airbyte_extracted_at timestamptz,"
                    " _airbyte_meta json, _airbyte_generation_id bigint)")
        con.execute("create table raw.fivetran_history (account_id varchar, name varchar, tier bigint,"
                    " _fivetran_start timestamptz, _fivetran_end timestamptz, _fivetran_active boolean,"
                    " _fivetran_synced timestamptz)")
        con.execute("create table raw.fivetran_soft (account_id varchar, name varchar, tier bigint,"
                    " _fivetran_deleted boolean, _fivetran_synced timestamptz)")
        con.execute("create table raw.debezium_snowflake (record_metadata json, record_content json)")
    finally:
        con.close()


def test_airbyte_and_fivetran_state_equals_the_change_log(tmp_path):
    wh = project_warehouse(tmp_path, list(TABLES.values()))
    _create_raw(wh)
    wh.create_views()
    previous = 0
    for sync_id, (upto, synced_at) in enumerate(SYNCS, start=1):
        con = duckdb.connect(str(wh.path))
        try:
            _land(con, upto, sync_id, synced_at, previous)
        finally:
            con.close()
        previous = upto
        wh.cycle()
        for name, t in TABLES.items():
            live, deleted = _oracle(upto, carries_deletes=name != "airbyte_cursor")
            assert wh.state(t) == live, (name, upto)
            assert wh.tombstones(t) == deleted, (name, upto)
            lost = {d: n for d, n in wh.dispositions(t).items() if d in ("not_staged", "unaccounted")}
            assert lost == {}, (name, upto)
            statuses = {s for s, *_ in wh.reconciliation(t).values()}
            assert statuses == {"unverifiable"}, (name, statuses)
    assert _oracle(len(CHANGES))[1] == {"a2"}
    # the re-extracted change is one event, staged once
    for name in ("airbyte_cdc", "debezium_snowflake"):
        assert wh.query(f"select count(*), count(distinct _event_id) from landing.crm__{name}") == [(11, 10)], name
