"""Where the embedded DuckDB warehouse lives, and how to reach it."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_WAREHOUSE = Path(".warehouse") / "syncgov.duckdb"


def default_warehouse() -> Path:
    """`$SYNCGOV_WAREHOUSE` when set (the Makefile and profiles.yml use it), else the default."""
    return Path(os.environ.get("SYNCGOV_WAREHOUSE") or DEFAULT_WAREHOUSE)
