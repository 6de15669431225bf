"""Renderers: publishable manifests turned into configuration real reverse-ETL tools read.

A renderer reads manifests only (the published format is the interface), writes under its own
folder of the output directory, and reports per export where the rendering went or why there
is none. A blocked export is never rendered as runnable: drt gets no sync file for it (a stale
one from an earlier publication is removed), Census gets its sync paused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from governance.exports.manifest import write_atomically

# The first line of every file a renderer writes; only such files are ever removed.
HEADER = "# Rendered by `syncgov export`"


@dataclass(frozen=True)
class Rendering:
    path: Path | None
    reason: str | None = None  # why it is not rendered (as runnable)


@dataclass(frozen=True)
class RenderOptions:
    drt_profile: str = "syncgov"
    census_source_connection: str = "syncgov_warehouse"


Renderer = Callable[[list[dict[str, Any]], Path, Iterable[str], RenderOptions],
                    dict[str, Rendering]]


def write_text(path: Path, text: str) -> None:
    write_atomically(path, text)


def remove_rendered(folder: Path, export_ids: Iterable[str], declared: Iterable[str]) -> None:
    """Delete renderings of `export_ids`, and of exports no longer declared, that syncgov wrote
    (a file without the header is someone else's and stays)."""
    if not folder.is_dir():
        return
    drop = set(export_ids)
    keep = set(declared)
    for path in folder.glob("*.yml"):
        if path.stem in keep and path.stem not in drop:
            continue
        try:
            first = path.read_text().split("\n", 1)[0]
        except OSError:
            continue
        if first.startswith(HEADER):
            path.unlink()


def plain_timestamp(iso_z: str | None) -> str | None:
    """`2026-11-24T21:00:00.5Z` -> `2026-11-24 21:00:00.5`, as SQL casts read it on every engine."""
    return iso_z.removesuffix("Z").replace("T", " ") if iso_z else None


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def source_relation(manifest: dict[str, Any]) -> str:
    """schema.name of the export model (the catalog is whatever the tool's connection opens)."""
    source = manifest["source"]
    return f"{quote(source['schema'])}.{quote(source['name'])}"


def select_list(manifest: dict[str, Any]) -> str:
    return ",\n    ".join(quote(f["source_column"]) for f in manifest["fields"])


def renderers() -> dict[str, Renderer]:
    from governance.exports.renderers import census, drt  # noqa: PLC0415 - avoid a cycle

    return {"drt": drt.render, "census": census.render}
