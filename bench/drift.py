"""Drift detection against a peer: our `sync_drift` model and reladiff on the same DuckDB tables.

`prepare` rewrites every source extract (`landing.<table>__extract`) from the live rows of its
state table, rendered as the strings a source would send, then makes a pinned share of the keys
differ: a third are dropped from the extract (missing in source), a third get one text field
changed (value mismatch) and a third appear again under a key the warehouse does not hold
(missing in warehouse). `peer` diffs the same nine pairs with reladiff's join-diff (its algorithm
for two tables in one database) and writes the differing keys; `ours` reads the keys that
`sync_drift` reported, so the two answers can be compared key for key.

    python -m bench.drift prepare WAREHOUSE FRACTION
    python -m bench.drift peer WAREHOUSE KEYS_JSON     (prints timings as JSON)
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from governance.catalogue import landing_table_entries

REPO = Path(__file__).resolve().parent.parent
METADATA = {"_is_deleted", "_event_id", "_source_system", "_source_event_at", "_loaded_at",
            "_sync_batch_id", "_staged_at", "_applied_at", "_dbt_invocation_id"}
EXTRACTED_AT = "2026-11-24 12:00:00"
PEER_SCHEMA = "bench_peer"


@dataclass(frozen=True)
class Pair:
    """One source extract and the state table `sync_drift` compares it with."""

    name: str  # <system>__<entity>, as sync_drift's landing_table
    state: str
    key: str  # the state key
    key_column: str  # the extract's key column
    key_expr: str  # the extract's key, as sync_drift computes it

    @property
    def extract(self) -> str:
        return f"landing.{self.name}__extract"

    @property
    def peer_keys(self) -> list[str]:
        """reladiff's key: the key column, or the columns a composite key is built from (reladiff
        bisects alphanumeric keys, and `sku || ':' || site_id` is not one)."""
        if self.key_expr == self.key_column:
            return ["entity_key"]
        return re.findall(r"\b([a-z_]+)\b", self.key_expr)


def pairs(project: Path = REPO) -> list[Pair]:
    tables = landing_table_entries(project)
    return [Pair(f"{t['system']}__{t['entity']}", f"state.{t['state']}", t["key"], t["key_column"],
                 t.get("key_expr", t["key_column"]))
            for t in tables if t.get("extract", True)]


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"describe {relation}").fetchall()]


def compared_columns(con: duckdb.DuckDBPyConnection, pair: Pair) -> list[tuple[str, str]]:
    """The state columns sync_drift compares: all but the key and the sync metadata."""
    return [(n, t) for n, t in _columns(con, pair.state) if n not in METADATA and n != pair.key]


def _extract_value(col: str, pair: Pair, state_cols: set[str]) -> str:
    """The extract column `col` of a live state row, as the text a source would send."""
    if col == pair.key_column and col not in state_cols:
        return f"cast({pair.key} as varchar)"
    if col in state_cols:
        return f"cast({col} as varchar)"
    if col == "updated_at":
        return "_source_event_at"
    if col == "_extracted_at":
        return f"timestamp '{EXTRACTED_AT}'"
    return "null"


def prepare(warehouse: Path, fraction: float, seed: int = 42) -> dict[str, int]:
    """Rewrite every extract from state with `fraction` of its keys differing; rows per extract."""
    con = duckdb.connect(str(warehouse))
    con.execute("set enable_progress_bar = false")
    counts = {}
    try:
        for pair in pairs():
            extract_cols = [n for n, _ in _columns(con, pair.extract)]
            compared = compared_columns(con, pair)
            state_cols = {n for n, _ in compared}
            in_key = {pair.key_column, *(c for c in state_cols if c in pair.key_expr)}
            drifted = next(n for n, t in compared if t == "VARCHAR" and n not in in_key)
            values = {c: _extract_value(c, pair, state_cols) for c in extract_cols}
            keep = ", ".join(f"{v} as {c}" for c, v in values.items())
            change = ", ".join(
                f"coalesce({v}, '') || ' (changed at source)' as {c}" if c == drifted else f"{v} as {c}"
                for c, v in values.items())
            extra = ", ".join(
                f"'extra-' || {v} as {c}" if c == pair.key_column else f"{v} as {c}"
                for c, v in values.items())
            u = f"(hash(cast({pair.key} as varchar), 'drift', {seed}) % 1000000) / 1000000.0"
            third = fraction / 3
            con.execute(f"delete from {pair.extract}")
            con.execute(f"""
                insert into {pair.extract}
                with live as (select *, {u} as u from {pair.state} where not _is_deleted)
                select {keep} from live where u >= {2 * third}
                union all
                select {change} from live where u >= {third} and u < {2 * third}
                union all
                select {extra} from live where u >= {2 * third} and u < {fraction}
            """)
            counts[pair.name] = con.execute(f"select count(*) from {pair.extract}").fetchone()[0]
        con.execute("checkpoint")
    finally:
        con.close()
    return counts


def create_peer_views(warehouse: Path) -> list[tuple[Pair, list[str]]]:
    """Both sides of each pair as reladiff reads them: the key, the compared columns as text."""
    con = duckdb.connect(str(warehouse))
    out = []
    try:
        con.execute(f"create schema if not exists {PEER_SCHEMA}")
        for pair in pairs():
            cols = [n for n, _ in compared_columns(con, pair) if n not in pair.peer_keys]
            listed = ", ".join(f"cast({c} as varchar) as {c}" for c in cols)
            if pair.peer_keys == ["entity_key"]:
                source_key = f"cast({pair.key_expr} as varchar) as entity_key"
                held_key = f"cast({pair.key} as varchar) as entity_key"
            else:
                source_key = held_key = ", ".join(pair.peer_keys)
            con.execute(f"create or replace view {PEER_SCHEMA}.source__{pair.name} as"
                        f" select {source_key}, {listed} from {pair.extract}")
            con.execute(f"create or replace view {PEER_SCHEMA}.warehouse__{pair.name} as"
                        f" select {held_key}, {listed} from {pair.state} where not _is_deleted")
            out.append((pair, cols))
    finally:
        con.close()
    return out


PEER_MODES = ("defaults", "tuned", "join")


def _quiet_joindiff() -> None:
    """reladiff's join-diff without its side queries: per segment it also collects table
    statistics, tests for null keys, counts exclusive rows and differences per column in
    background queries; none of them changes the differing keys it yields."""
    from reladiff.joindiff_tables import JoinDiffer  # noqa: PLC0415

    def skip(*_args: object, **_kwargs: object) -> None:
        return None

    for name in ("_collect_stats", "_test_null_keys", "_sample_and_count_exclusive",
                 "_count_diff_per_column"):
        setattr(JoinDiffer, name, skip)


def run_join(warehouse: Path, keys_out: Path) -> dict[str, float]:
    """The plain baseline: one null-safe full outer join per pair over the same views."""
    views = create_peer_views(warehouse)
    started = time.perf_counter()
    con = duckdb.connect(str(warehouse), read_only=True)
    keys: dict[str, list[str]] = {}
    try:
        for pair, cols in views:
            on = " and ".join(f"s.{k} = w.{k}" for k in pair.peer_keys)
            key = " || ':' || ".join(f"coalesce(s.{k}, w.{k})" for k in pair.peer_keys)
            differs = " or ".join([f"s.{pair.peer_keys[0]} is null", f"w.{pair.peer_keys[0]} is null",
                                   *(f"s.{c} is distinct from w.{c}" for c in cols)])
            rows = con.execute(
                f"select distinct {key} from {PEER_SCHEMA}.source__{pair.name} as s"
                f" full outer join {PEER_SCHEMA}.warehouse__{pair.name} as w on {on}"
                f" where {differs}"
            ).fetchall()
            keys[pair.name] = sorted(r[0] for r in rows)
    finally:
        con.close()
    seconds = time.perf_counter() - started
    keys_out.write_text(json.dumps(keys))
    return {"diff": seconds, "keys": sum(len(v) for v in keys.values())}


def run_peer(warehouse: Path, keys_out: Path, mode: str = "defaults") -> dict[str, float]:
    """Diff every pair with reladiff; write the differing keys; seconds taken. `tuned`: two
    segments per bisection (`bisection_factor=2`) and no side queries (its best configuration
    for two tables in one DuckDB file)."""
    import reladiff  # noqa: PLC0415 - imported here so its import time is reported apart

    if mode == "join":
        return run_join(warehouse, keys_out)
    tuning = {}
    if mode == "tuned":
        _quiet_joindiff()
        tuning = {"bisection_factor": 2}
    views = create_peer_views(warehouse)
    started = time.perf_counter()
    db = reladiff.connect(f"duckdb://{warehouse}")
    keys: dict[str, list[str]] = {}
    for pair, cols in views:
        key = tuple(pair.peer_keys)
        source = reladiff.connect_to_table(db, f"{PEER_SCHEMA}.source__{pair.name}", key,
                                           extra_columns=tuple(cols))
        held = reladiff.connect_to_table(db, f"{PEER_SCHEMA}.warehouse__{pair.name}", key,
                                         extra_columns=tuple(cols))
        # join-diff: reladiff's algorithm for two tables in one database. The key is the state's
        # key, unique by a dbt test, so (like sync_drift) no uniqueness check runs first.
        with reladiff.diff_tables(source, held, algorithm="joindiff",
                                  validate_unique_key=False, **tuning) as diff:
            keys[pair.name] = sorted({":".join(row[:len(key)]) for _, row in diff})
    db.close()
    seconds = time.perf_counter() - started
    keys_out.write_text(json.dumps(keys))
    return {"diff": seconds, "keys": sum(len(v) for v in keys.values())}


def our_keys(warehouse: Path) -> dict[str, list[str]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute("select distinct landing_table, entity_key from control.sync_drift_by_extract"
                           " where drift_type <> 'compared'").fetchall()
    finally:
        con.close()
    keys: dict[str, list[str]] = {}
    for table, key in rows:
        keys.setdefault(table, []).append(key)
    return {t: sorted(k) for t, k in keys.items()}


def same_keys(ours: dict[str, list[str]], theirs: dict[str, list[str]]) -> tuple[bool, int]:
    """Whether both found exactly the same differing keys; how many keys that is."""
    a = {(t, k) for t, ks in ours.items() for k in ks}
    b = {(t, k) for t, ks in theirs.items() for k in ks}
    return a == b, len(a)


if __name__ == "__main__":
    command, path = sys.argv[1], Path(sys.argv[2])
    if command == "prepare":
        print(json.dumps(prepare(path, float(sys.argv[3]))))
    elif command == "peer":
        mode = sys.argv[4] if len(sys.argv) > 4 else "defaults"
        print(json.dumps(run_peer(path, Path(sys.argv[3]), mode)))
    else:
        raise SystemExit(f"unknown command {command}")
