"""Change data capture from a real PostgreSQL, the way Debezium's PostgreSQL connector does it:
a logical replication slot with the built-in `pgoutput` plugin, read over psycopg2's
replication protocol, turned into Debezium change events (the envelope with `before`, `after`,
`source`, `op`, `transaction`) and transaction metadata records (BEGIN / END with
`event_count` and `data_collections`), and landed as a Kafka Connect sink would land them:
one row per Kafka record with topic, partition, offset, record timestamp and the JSON value.

The initial snapshot is read as Debezium reads it: `op` `r` records, one per existing row,
with `source.snapshot` set and no `transaction` block (snapshot reads belong to no source
transaction, so they carry no event counts). What it does not do: Kafka itself (offsets are
assigned here, one partition per topic).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import select
import struct
import time
import uuid
from dataclasses import dataclass, field

import duckdb
import psycopg2
import psycopg2.extras
import psycopg2.sql

PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
TOPIC_PREFIX = "erp"
# Debezium's JSON for a column type (decimal.handling.mode=string: numerics as text)
_INT_OIDS = {20, 21, 23}
_BOOL_OID = 16


@dataclass
class Relation:
    schema: str
    table: str
    columns: list[tuple[str, int, bool]]  # name, type oid, part of the key


@dataclass
class Change:
    relation: Relation
    op: str  # c / u / d
    lsn: int
    before: dict | None
    after: dict | None


@dataclass
class Transaction:
    xid: int
    final_lsn: int
    commit_us: int  # microseconds since the Unix epoch
    changes: list[Change] = field(default_factory=list)


def _cstring(buf: bytes, pos: int) -> tuple[str, int]:
    end = buf.index(b"\0", pos)
    return buf[pos:end].decode(), end + 1


def _tuple(buf: bytes, pos: int, rel: Relation) -> tuple[dict, int]:
    (ncols,) = struct.unpack_from("!h", buf, pos)
    pos += 2
    values: dict = {}
    for i in range(ncols):
        kind = chr(buf[pos])
        pos += 1
        name, oid, _ = rel.columns[i]
        if kind in {"n", "u"}:  # null, or an unchanged TOAST value (none in these tables)
            values[name] = None
        else:
            (length,) = struct.unpack_from("!i", buf, pos)
            pos += 4
            text = buf[pos:pos + length].decode()
            pos += length
            if oid in _INT_OIDS:
                values[name] = int(text)
            elif oid == _BOOL_OID:
                values[name] = text == "t"
            else:
                values[name] = text
    return values, pos


class PgoutputReader:
    """One replication connection for the life of a test; `drain()` returns the transactions
    committed since the last drain, in commit order, and confirms them to the slot."""

    def __init__(self, dsn: str, publication: str = "syncgov_cdc", slot: str = "syncgov_cdc") -> None:
        self.dsn = dsn
        self.relations: dict[int, Relation] = {}
        self.conn = psycopg2.connect(dsn, connection_factory=psycopg2.extras.LogicalReplicationConnection)
        self.cur = self.conn.cursor()
        self.cur.create_replication_slot(slot, output_plugin="pgoutput")
        self.cur.start_replication(slot_name=slot, decode=False, options={
            "proto_version": "1", "publication_names": publication, "messages": "true"})

    def close(self) -> None:
        self.conn.close()

    def drain(self, timeout: float = 30.0) -> list[Transaction]:
        marker = uuid.uuid4().hex
        con = psycopg2.connect(self.dsn)
        try:
            con.autocommit = True
            con.cursor().execute("select pg_logical_emit_message(true, 'syncgov-mark', %s)", (marker,))
        finally:
            con.close()
        done: list[Transaction] = []
        current: Transaction | None = None
        deadline = time.monotonic() + timeout
        while True:
            msg = self.cur.read_message()
            if msg is None:
                if time.monotonic() > deadline:
                    raise TimeoutError("logical replication did not deliver the marker in time")
                select.select([self.cur], [], [], 0.5)
                continue
            buf = msg.payload
            kind = chr(buf[0])
            if kind == "R":
                (relid,) = struct.unpack_from("!I", buf, 1)
                schema, pos = _cstring(buf, 5)
                table, pos = _cstring(buf, pos)
                pos += 1  # replica identity
                (ncols,) = struct.unpack_from("!h", buf, pos)
                pos += 2
                cols = []
                for _ in range(ncols):
                    flags = buf[pos]
                    name, pos = _cstring(buf, pos + 1)
                    (oid,) = struct.unpack_from("!I", buf, pos)
                    pos += 8
                    cols.append((name, oid, bool(flags & 1)))
                self.relations[relid] = Relation(schema, table, cols)
            elif kind == "B":
                final_lsn, commit_ts, xid = struct.unpack_from("!QqI", buf, 1)
                current = Transaction(xid, final_lsn, commit_ts + int(PG_EPOCH.timestamp()) * 1_000_000)
            elif kind in "IUD":
                (relid,) = struct.unpack_from("!I", buf, 1)
                rel = self.relations[relid]
                pos = 5
                before = after = None
                if chr(buf[pos]) in "KO":
                    before, pos = _tuple(buf, pos + 1, rel)
                if kind != "D":
                    after, _ = _tuple(buf, pos + 1, rel)  # 'N'
                if kind == "D" and before is not None:
                    # REPLICA IDENTITY DEFAULT sends the key only; Debezium nulls the rest
                    before = {name: before.get(name) if is_key else None for name, _, is_key in rel.columns}
                op = {"I": "c", "U": "u", "D": "d"}[kind]
                assert current is not None
                current.changes.append(Change(rel, op, msg.data_start, before, after))
            elif kind == "M":
                pos = 1 + 1 + 8
                prefix, pos = _cstring(buf, pos)
                (length,) = struct.unpack_from("!i", buf, pos)
                content = buf[pos + 4:pos + 4 + length].decode()
                if prefix == "syncgov-mark" and content == marker:
                    self.cur.send_feedback(flush_lsn=msg.data_start)
                    return done
            elif kind == "C":
                if current is not None and current.changes:
                    done.append(current)
                current = None
                self.cur.send_feedback(flush_lsn=msg.data_start)


class DebeziumLanding:
    """Debezium envelopes for pgoutput transactions, landed into DuckDB tables shaped like a
    Kafka Connect sink's output (`raw.<topic with _>`: kafka_topic, kafka_partition,
    kafka_offset, kafka_timestamp, record_value JSON). Kafka offsets are per topic."""

    COLUMNS = ("kafka_topic varchar, kafka_partition integer, kafka_offset bigint,"
               " kafka_timestamp timestamptz, record_value json")

    def __init__(self, warehouse_path: str) -> None:
        self.path = warehouse_path
        self.offsets: dict[str, int] = {}

    @staticmethod
    def raw_table(topic: str) -> str:
        # topic names come from the source's schema and table names: only plain ones make a table
        name = topic.replace(".", "_")
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"topic {topic!r} does not map to a plain table name")
        return name

    def _record(self, rows: dict[str, list], topic: str, value: dict | None, loaded: dt.datetime) -> None:
        offset = self.offsets.get(topic, 0)
        self.offsets[topic] = offset + 1
        rows.setdefault(topic, []).append(
            (topic, 0, offset, loaded, None if value is None else json.dumps(value)))

    def land_snapshot(self, dsn: str, tables: list[tuple[str, str]]) -> None:
        """Every row of `tables` ((schema, table) pairs) as it is now, as snapshot reads."""
        rows: dict[str, list] = {}
        loaded = dt.datetime.now(dt.UTC)
        con = psycopg2.connect(dsn)
        try:
            cur = con.cursor()
            cur.execute("set transaction isolation level repeatable read")
            cur.execute("select txid_current(), pg_current_wal_lsn() - '0/0'::pg_lsn,"
                        " (extract(epoch from now()) * 1000000)::bigint")
            xid, lsn, now_us = cur.fetchone()
            for schema, table in tables:
                cur.execute(psycopg2.sql.SQL("select * from {}.{}").format(
                    psycopg2.sql.Identifier(schema), psycopg2.sql.Identifier(table)))
                names = [d.name for d in cur.description]
                for values in cur.fetchall():
                    after = {n: str(v) if isinstance(v, decimal.Decimal) else v
                             for n, v in zip(names, values, strict=True)}
                    envelope = {
                        "before": None, "after": after, "op": "r", "ts_ms": now_us // 1000, "transaction": None,
                        "source": {"version": "2.7.0.Final", "connector": "postgresql", "name": TOPIC_PREFIX,
                                   "ts_ms": now_us // 1000, "ts_us": now_us, "snapshot": "true", "db": "postgres",
                                   "schema": schema, "table": table, "txId": xid, "lsn": int(lsn), "xmin": None},
                    }
                    self._record(rows, f"{TOPIC_PREFIX}.{schema}.{table}", envelope, loaded)
            con.rollback()
        finally:
            con.close()
        self._write(rows)

    def land(self, transactions: list[Transaction], tombstones: bool = True) -> None:
        rows: dict[str, list] = {}
        loaded = dt.datetime.now(dt.UTC)
        tx_topic = f"{TOPIC_PREFIX}.transaction"
        for tx in transactions:
            tx_id = f"{tx.xid}:{tx.final_lsn}"
            ts_ms = tx.commit_us // 1000
            self._record(rows, tx_topic, {"status": "BEGIN", "id": tx_id, "ts_ms": ts_ms,
                                          "event_count": None, "data_collections": None}, loaded)
            per_collection: dict[str, int] = {}
            for total_order, ch in enumerate(tx.changes, start=1):
                collection = f"{ch.relation.schema}.{ch.relation.table}"
                per_collection[collection] = per_collection.get(collection, 0) + 1
                topic = f"{TOPIC_PREFIX}.{collection}"
                envelope = {
                    "before": ch.before,
                    "after": ch.after,
                    "source": {
                        "version": "2.7.0.Final", "connector": "postgresql", "name": TOPIC_PREFIX,
                        "ts_ms": ts_ms, "ts_us": tx.commit_us, "snapshot": "false", "db": "postgres",
                        "sequence": json.dumps([None, str(ch.lsn)]), "schema": ch.relation.schema,
                        "table": ch.relation.table, "txId": tx.xid, "lsn": ch.lsn, "xmin": None,
                    },
                    "op": ch.op,
                    "ts_ms": int(loaded.timestamp() * 1000),
                    "transaction": {"id": tx_id, "total_order": total_order,
                                    "data_collection_order": per_collection[collection]},
                }
                self._record(rows, topic, envelope, loaded)
                if ch.op == "d" and tombstones:
                    self._record(rows, topic, None, loaded)  # tombstones.on.delete=true
            self._record(rows, tx_topic, {
                "status": "END", "id": tx_id, "ts_ms": ts_ms, "event_count": len(tx.changes),
                "data_collections": [{"data_collection": c, "event_count": n}
                                     for c, n in per_collection.items()]}, loaded)
        self._write(rows)

    def _write(self, rows: dict[str, list]) -> None:
        con = duckdb.connect(self.path)
        try:
            con.execute("create schema if not exists raw")
            for topic, records in rows.items():
                table = self.raw_table(topic)
                con.execute(f"create table if not exists raw.{table} ({self.COLUMNS})")
                con.executemany(f"insert into raw.{table} values (?, ?, ?, ?, ?)", records)
        finally:
            con.close()
