"""The last published control snapshot, and how readers choose between it and the live
warehouse.

Each cycle ends by writing what `syncgov status`, `metrics` and `report` show (a
`ControlSnapshot`) to `snapshot.json` in the published directory, atomically. While a cycle
holds the warehouse, readers answer from that file at once and say how old it is; with
`--wait` they queue behind the cycle and read the warehouse live.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from governance.control_tables import ControlSnapshot, ExportEvaluation, connect, read_snapshot
from governance.errors import InputError, WarehouseBusy
from governance.operate import journal
from governance.operate.lock import WarehouseLock
from governance.warehouse import Warehouse, as_warehouse

SNAPSHOT_FILE = "snapshot.json"
FORMAT_VERSION = 1


def published_dir(warehouse: Warehouse | Path) -> Path:
    """Where cycles publish the operator artifacts: `published/` beside the warehouse."""
    return warehouse.parent / "published"


@dataclass(frozen=True)
class ReaderView:
    """What a reader shows: the snapshot, and whether it is live or how old the copy is."""

    snapshot: ControlSnapshot
    live: bool
    published_at: datetime | None = None
    busy_with: str | None = None  # what holds the warehouse, when not live
    unfinished: tuple[str, ...] = ()  # cycles and replays that died part-way

    def age_seconds(self, now: datetime) -> float | None:
        return None if self.published_at is None else (now - self.published_at).total_seconds()

    def note(self, now: datetime) -> str | None:
        """One line for stderr when the view is not live."""
        if self.live:
            return None
        age = self.age_seconds(now) or 0.0
        busy = f" ({self.busy_with})" if self.busy_with else ""
        return (f"the warehouse is busy{busy}: showing the snapshot published at"
                f" {self.published_at:%Y-%m-%d %H:%M:%S} UTC, {_age(age)} old;"
                " --wait to read it live")


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


# -- the file ------------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, Path):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$datetime"}:
            return datetime.fromisoformat(value["$datetime"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _rows(cls: type, raw: list[dict[str, Any]]) -> tuple:
    return tuple(cls(**_decode(item)) for item in raw)


def snapshot_from_json(data: dict[str, Any]) -> ControlSnapshot:
    hints = get_type_hints(ControlSnapshot)
    values: dict[str, Any] = {}
    for f in fields(ControlSnapshot):
        raw, kind = data[f.name], hints[f.name]
        args = get_args(kind)
        if f.name == "warehouse":
            values[f.name] = str(raw)
        elif f.name == "export_log":
            values[f.name] = None if raw is None else {
                k: ExportEvaluation(**{**_decode(v), "reasons": tuple(v["reasons"])})
                for k, v in raw.items()}
        elif get_origin(kind) is tuple and args and is_dataclass(args[0]):
            values[f.name] = _rows(args[0], raw)
        else:
            values[f.name] = _decode(raw)
    return ControlSnapshot(**values)


def write_snapshot(snapshot: ControlSnapshot, directory: Path, published_at: datetime,
                   unfinished: tuple[str, ...] = ()) -> Path:
    """Write snapshot.json atomically (temporary file, then rename), with the unfinished
    cycles and replays as the publishing cycle saw them (itself excluded)."""
    document = {"format": FORMAT_VERSION, "published_at": published_at.isoformat(),
                "unfinished": list(unfinished), "snapshot": _encode(snapshot)}
    return write_atomically(directory / SNAPSHOT_FILE, json.dumps(document, indent=1) + "\n")


def write_atomically(path: Path, text: str) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror})") from None
    return path


def load_published(directory: Path) -> tuple[ControlSnapshot, datetime, tuple[str, ...]] | None:
    path = directory / SNAPSHOT_FILE
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read the published snapshot ({exc})") from None
    if document.get("format") != FORMAT_VERSION:
        raise InputError(f"{path}: snapshot format {document.get('format')!r}, expected"
                         f" {FORMAT_VERSION}; the next `syncgov run` rewrites it")
    try:
        return (snapshot_from_json(document["snapshot"]),
                datetime.fromisoformat(document["published_at"]),
                tuple(str(u) for u in document.get("unfinished", ())))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: not a published snapshot ({exc})") from None


# -- choosing ------------------------------------------------------------------------------


def read_view(warehouse: Warehouse | Path, *, wait: float | None = None,
              directory: Path | None = None) -> ReaderView:
    """The live control snapshot when the warehouse is free (or, with `wait`, once it is),
    else the last published one. InputError when neither can be had."""
    warehouse = as_warehouse(warehouse)
    directory = directory if directory is not None else published_dir(warehouse)
    lock = WarehouseLock(warehouse.path).shared(wait or 0.0)
    busy_with = None
    if not lock.path.exists() or lock.try_acquire():
        try:
            snapshot = read_snapshot(warehouse)
            return ReaderView(snapshot, live=True, unfinished=_unfinished(warehouse))
        except WarehouseBusy:
            if wait:
                raise
            busy_with = "a dbt run outside `syncgov run` holds the DuckDB file"
        finally:
            lock.release()
    else:
        holder = lock.holder()
        busy_with = (f"{holder.what} since {holder.since:%H:%M:%S} UTC" if holder and holder.since
                     else "a cycle is running")
        if wait:
            raise InputError(f"{warehouse}: still busy ({busy_with}) after waiting {wait:g}s")
    found = load_published(directory)
    if found is None:
        raise WarehouseBusy(f"{warehouse}: busy ({busy_with}) and no snapshot is published in"
                            f" {directory} yet; wait for the cycle (--wait SECONDS)")
    snapshot, published_at, unfinished = found
    return ReaderView(snapshot, live=False, published_at=published_at, busy_with=busy_with,
                      unfinished=unfinished)


def _unfinished(warehouse: Warehouse) -> tuple[str, ...]:
    con = connect(warehouse)
    try:
        return tuple(journal.describe(u) for u in journal.unfinished(con))
    finally:
        con.close()


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
