"""Typed errors that library code raises and the CLI maps to exit codes."""

from __future__ import annotations


class SyncgovError(Exception):
    """Base class: a foreseeable problem the user can act on (exit code 2 unless said)."""

    exit_code = 2


class UsageError(SyncgovError):
    """An option or argument that cannot be used as given."""


class InputError(SyncgovError):
    """Input that cannot be read: a missing file, malformed YAML, an unknown warehouse."""


class DbtError(SyncgovError):
    """A dbt invocation failed in a way the user must look at."""

    exit_code = 1


class CouldNotRun(SyncgovError):
    """A cycle could not run to its end: the lock was not free in time, or dbt itself failed."""

    exit_code = 3


class LockTimeout(CouldNotRun):
    """The warehouse lock stayed taken for longer than the caller would wait."""


class WarehouseBusy(InputError):
    """The warehouse file is held by a writer (a dbt run or a cycle) right now."""
