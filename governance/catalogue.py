"""The landing-table catalogue: every landing table once, as the dbt project's control layer
reads it (`macros/generated/sync_landing_tables.sql`, written by `syncgov generate`)."""

from __future__ import annotations

import json
from pathlib import Path

from governance.errors import InputError

CATALOGUE_MACRO = Path("macros/generated/sync_landing_tables.sql")


def landing_table_entries(project_dir: Path) -> list[dict]:
    """The catalogue's entries (system, entity, domain, key, key_column, state, …) in order."""
    path = project_dir / CATALOGUE_MACRO
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the landing-table catalogue ({exc}); "
                         "run `syncgov generate`") from exc
    entries = []
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if text.startswith("{") and text.endswith("},"):
            try:
                entries.append(json.loads(text[:-1]))
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{number}: not a catalogue entry ({exc.msg}); "
                                 "run `syncgov generate`") from exc
    if not entries:
        raise InputError(f"{path}: no landing tables; run `syncgov generate`")
    return entries
