"""`syncgov run --loop` on a real warehouse: dbt in-process parses once for many cycles, a
failed cycle (the lock held elsewhere) is survived, SIGTERM ends the loop after its cycle."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from governance.operate.cycle import CycleOptions, Selection
from governance.operate.lock import WarehouseLock
from governance.operate.loop import InProcessDbt, fingerprint, run_loop
from tests.e2e.conftest import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("operate")]

REPO = Path(__file__).resolve().parents[2]


def test_the_loop_parses_once_and_survives_a_failed_cycle(warehouse: Warehouse) -> None:
    wh = warehouse
    wh.simulate(seed=17, now=datetime.now(UTC), events=2000, entities=100, batches=2)
    wh.dbt("build")
    dbt = InProcessDbt(REPO, wh.path, wh.root / "loop-parse")
    options = CycleOptions(project_dir=REPO, registry_dir=REPO / "registry", warehouse=wh.path,
                           selection=Selection(cadence="sync_customer"), wait_seconds=0.5,
                           target_root=wh.root / "cycles", dbt=dbt)
    seen: list[str] = []
    blocker = WarehouseLock(wh.path).exclusive(0, "a test holding the lock").acquire()

    def on_cycle(result, error) -> None:
        seen.append("ok" if result else type(error).__name__)
        blocker.release()  # the first cycle timed out on the lock; the next ones get it

    state = run_loop(options, threading.Event(), max_cycles=3, pause_seconds=0,
                     on_cycle=on_cycle)
    assert seen == ["LockTimeout", "ok", "ok"]
    assert state.failed == 1
    assert dbt.parses == 1, "the manifest is parsed once and reused"
    events = [e for (e,) in wh.query(
        "select event from audit.sync_cycle_log order by recorded_at")]
    # the timed-out cycle never started (no intent row); the two others started and ended
    assert len(events) == 4
    assert events[0::2] == ["started", "started"]
    assert set(events[1::2]) <= {"ok", "findings"}


def test_sigterm_stops_the_loop_after_its_cycle(warehouse: Warehouse) -> None:
    wh = warehouse
    wh.simulate(seed=19, now=datetime.now(UTC), events=2000, entities=100, batches=2)
    wh.dbt("build")
    env = {**os.environ, "DBT_PROFILES_DIR": str(REPO), "SYNCGOV_WAREHOUSE": str(wh.path)}
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("syncgov")), "run", "--loop", "--cadence",
         "sync_customer", "--quiet", "--target-root", str(wh.root / "cycles")],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("cycle "), first + proc.stderr.read()
    time.sleep(1)  # into the next cycle
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert "stopped after" in err
    rows = wh.query("select cycle_id, event from audit.sync_cycle_log")
    started = {c for c, e in rows if e == "started"}
    finished = {c for c, e in rows if e != "started"}
    assert started == finished, rows  # every cycle it began, it finished


def test_the_fingerprint_changes_with_the_project(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    model = tmp_path / "models" / "a.sql"
    model.write_text("select 1")
    (tmp_path / "dbt_project.yml").write_text("name: x")
    before = fingerprint(tmp_path)
    assert fingerprint(tmp_path) == before
    os.utime(model, ns=(before[0] + 10**9, before[0] + 10**9))
    assert fingerprint(tmp_path) != before
    (tmp_path / "models" / "b.sql").write_text("select 2")
    assert fingerprint(tmp_path)[1] == 3
