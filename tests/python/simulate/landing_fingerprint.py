"""An order-independent fingerprint of everything the simulator writes, and the runs it is taken of.

Every table of the `landing` schema (data, ledger, extracts, backlogs, the simulator's state and
truth) and the truth file are reduced to a row count and a sum of per-row md5 digests, so two
landing zones agree exactly when they hold the same rows, whatever their physical order. md5 over
the row's text rather than DuckDB's `hash()`: the golden file then outlives a hash change.

`python tests/python/simulate/landing_fingerprint.py --regenerate` rewrites the golden file; do it
only with a generator whose output is the reference (it was taken from main before #18 streamed
the generation in chunks).
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import datetime
from pathlib import Path

import duckdb

from governance.simulate import SimulationParams, simulate
from governance.simulate.faults import DEMO_FAULTS, FaultRates

GOLDEN = Path(__file__).with_name("golden_landing_fingerprint.json")
NOW = datetime(2026, 11, 24, 12, 0, 0)
APPEND_AT = datetime(2026, 11, 24, 12, 5, 0)
# every demo fault, plus a recovery on the append so backlog rows compete with landed ones
APPEND_FAULTS = FaultRates(**(DEMO_FAULTS.as_dict() | {"recovery": 0.5}))
EVENTS = 200_000


def fingerprint(warehouse: Path, truth: Path) -> dict[str, list[int]]:
    """Per landing table: [rows, sum of the rows' md5 prefixes]; and the truth file's digest."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'landing' order by 1"
        ).fetchall()]
        out: dict[str, list[int]] = {}
        for name in names:
            count, digest = con.execute(
                f"select count(*), coalesce(sum(cast('0x' || left(md5(cast(x as varchar)), 15)"
                f" as bigint)), 0) from landing.{name} as x"
            ).fetchone()
            out[name] = [int(count), int(digest)]
    finally:
        con.close()
    out["simulate_truth.json"] = [0, int(hashlib.md5(truth.read_bytes()).hexdigest()[:15], 16)]
    return out


def reference_runs(work: Path, **params: object) -> dict[str, dict[str, list[int]]]:
    """A first run with every demo fault, then an append that recovers half the stalled backlog."""
    wh = work / "w.duckdb"
    first = work / "first.json"
    second = work / "second.json"
    simulate(SimulationParams(warehouse=wh, seed=42, now=NOW, entities=4000, events=EVENTS,
                              batches=24, faults=DEMO_FAULTS, truth_path=first, **params))
    runs = {"first": fingerprint(wh, first)}
    simulate(SimulationParams(warehouse=wh, seed=42, now=APPEND_AT, entities=4000, events=EVENTS,
                              batches=3, faults=APPEND_FAULTS, append=True, truth_path=second,
                              **params))
    runs["append"] = fingerprint(wh, second)
    return runs


if __name__ == "__main__":
    import tempfile

    if "--regenerate" not in sys.argv:
        sys.exit("usage: python tests/python/simulate/landing_fingerprint.py --regenerate")
    with tempfile.TemporaryDirectory() as tmp:
        GOLDEN.write_text(json.dumps(reference_runs(Path(tmp)), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
