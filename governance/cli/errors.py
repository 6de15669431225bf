"""Map library errors to one-line messages and exit codes, never a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import click

from governance.errors import SyncgovError

P = ParamSpec("P")
R = TypeVar("R")


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a click command so a `SyncgovError` exits with its code and a clear message."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SyncgovError as exc:
            click.echo(f"syncgov: error: {exc}", err=True)
            raise SystemExit(exc.exit_code) from None

    return wrapper
