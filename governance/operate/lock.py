"""The warehouse lock: one cycle (dbt and syncgov's own writes) at a time, readers alongside.

An advisory `flock` on a file beside the DuckDB warehouse (`<warehouse>.lock`). A cycle or a
replay takes it exclusively and waits up to its `--wait` for it, so cadences that overlap queue
instead of colliding on DuckDB's own file lock. Readers take it shared and never wait: when a
cycle holds it they read the last published snapshot instead. The kernel drops the lock when
its holder dies, so a killed cycle never leaves the warehouse locked; the file itself stays and
says who held it last.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from governance.errors import InputError, LockTimeout

POLL_SECONDS = 0.1


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


@dataclass(frozen=True)
class Holder:
    """What the holder of an exclusive lock wrote into the lock file."""

    pid: int | None
    what: str
    since: datetime | None


class WarehouseLock:
    """`with WarehouseLock(path).exclusive(wait=60, what="run sync_customer"): ...`"""

    def __init__(self, warehouse: Path) -> None:
        self.warehouse = warehouse
        self.path = lock_path(warehouse)
        self._fd: int | None = None
        self._what = ""
        self._mode = fcntl.LOCK_EX
        self._wait: float = 0.0

    # -- taking and releasing --------------------------------------------------------------

    def exclusive(self, wait: float, what: str) -> WarehouseLock:
        self._mode, self._wait, self._what = fcntl.LOCK_EX, wait, what
        return self

    def shared(self, wait: float = 0.0) -> WarehouseLock:
        self._mode, self._wait, self._what = fcntl.LOCK_SH, wait, ""
        return self

    def try_acquire(self) -> bool:
        """Take the lock in the chosen mode, waiting up to the chosen time; False on timeout."""
        if self._fd is not None:
            raise RuntimeError("the lock is already held by this object")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InputError(f"{self.path}: cannot open the lock file ({exc.strerror})") from None
        deadline = time.monotonic() + max(self._wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, self._mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(POLL_SECONDS)
        self._fd = fd
        if self._mode == fcntl.LOCK_EX:
            note = json.dumps({"pid": os.getpid(), "what": self._what,
                               "since": datetime.now(UTC).replace(tzinfo=None).isoformat()})
            os.ftruncate(fd, 0)
            os.pwrite(fd, note.encode(), 0)
        return True

    def acquire(self) -> WarehouseLock:
        """Take the lock or raise LockTimeout naming who holds it."""
        if not self.try_acquire():
            holder = self.holder()
            who = f"{holder.what} (pid {holder.pid}, since {_when(holder.since)} UTC)" \
                if holder else "another process"
            raise LockTimeout(f"{self.path}: held by {who}; waited {self._wait:g}s"
                              " (raise --wait to queue longer)")
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WarehouseLock:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    # -- looking ---------------------------------------------------------------------------

    def held_elsewhere(self) -> bool:
        """True when another process holds the lock exclusively (a cycle is running)."""
        if not self.path.exists():
            return False
        probe = WarehouseLock(self.warehouse).shared(0.0)
        if probe.try_acquire():
            probe.release()
            return False
        return True

    def holder(self) -> Holder | None:
        try:
            data = json.loads(self.path.read_text() or "{}")
        except (OSError, json.JSONDecodeError):
            return None
        if not data:
            return None
        since = data.get("since")
        return Holder(data.get("pid"), str(data.get("what", "")),
                      datetime.fromisoformat(since) if since else None)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "an unknown time"
