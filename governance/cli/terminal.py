"""The rich console the commands print tables to."""

from __future__ import annotations

import os

from rich.console import Console

LOG_WIDTH = 180


def console(*, wide: bool = False) -> Console:
    """The terminal's width; in a log or a pipe (or `wide`), wide enough not to wrap a status
    table. $COLUMNS sets the width of a pipe too."""
    found = Console()
    if wide:
        return Console(width=max(found.width, LOG_WIDTH)) if found.is_terminal \
            else Console(width=LOG_WIDTH)
    if found.is_terminal or os.environ.get("COLUMNS"):
        return found
    return Console(width=LOG_WIDTH)
