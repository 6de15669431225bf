"""The rich console the commands print tables to."""

from __future__ import annotations

from rich.console import Console

LOG_WIDTH = 180


def console() -> Console:
    """The terminal's width; in a log or a pipe, wide enough not to wrap a status table."""
    found = Console()
    return found if found.is_terminal else Console(width=LOG_WIDTH)
