"""Where the warehouse is and how to reach it: the embedded DuckDB file, or the engine of a
dbt target (`--target`, from the profile the user already has), DuckDB or Snowflake.

Every syncgov read and write of control, audit and export relations goes through
`Warehouse.connect()`; the SQL is written once (governance.warehouse.sql) and rendered per
engine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from governance.errors import CouldNotRun, InputError, UsageError, WarehouseBusy
from governance.warehouse.connection import (
    Connection,
    DuckDBConnection,
    QueryError,
    SnowflakeConnection,
    first_line,
)
from governance.warehouse.profile import read_target

DEFAULT_WAREHOUSE = Path(".warehouse") / "syncgov.duckdb"
NO_WAREHOUSE_HINT = "run `make demo` (or `syncgov simulate` then `dbt build`) first"
# The profile's target is `env_var('SYNCGOV_TARGET', 'dev')`: the same variable picks it here.
TARGET_ENV = "SYNCGOV_TARGET"

__all__ = ["Connection", "QueryError", "Warehouse", "as_warehouse", "default_warehouse",
           "resolve"]


def default_warehouse() -> Path:
    """`$SYNCGOV_WAREHOUSE` when set (the Makefile and profiles.yml use it), else the default."""
    return Path(os.environ.get("SYNCGOV_WAREHOUSE") or DEFAULT_WAREHOUSE)


@dataclass(frozen=True)
class Warehouse:
    """One warehouse, on one engine.

    `path` is the DuckDB file; on Snowflake it is a local anchor (`.warehouse/<target>/
    snowflake`) whose directory holds what syncgov keeps beside a warehouse: the cycle lock
    file, `published/` and dbt logs.
    """

    engine: str  # duckdb | snowflake
    path: Path
    target: str | None = None
    settings: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    label: str = ""

    @classmethod
    def duckdb(cls, path: Path, target: str | None = None) -> Warehouse:
        return cls("duckdb", path, target, {}, str(path))

    def __str__(self) -> str:
        return self.label or str(self.path)

    @property
    def parent(self) -> Path:
        return self.path.parent

    @property
    def is_duckdb(self) -> bool:
        return self.engine == "duckdb"

    def resolved(self) -> Warehouse:
        return Warehouse(self.engine, self.path.resolve(), self.target, self.settings,
                         self.label if not self.is_duckdb else str(self.path.resolve()))

    def exists(self) -> bool:
        """A DuckDB file that is there; a Snowflake target is checked by connecting."""
        return self.path.is_file() if self.is_duckdb else True

    def dbt_env(self) -> dict[str, str]:
        """What dbt needs to build this warehouse: the target, and DuckDB's file."""
        env = {TARGET_ENV: self.target} if self.target else {}
        if self.is_duckdb:
            env["SYNCGOV_WAREHOUSE"] = str(self.path.resolve())
        return env

    @property
    def namespace(self) -> str:
        """The OpenLineage namespace of datasets in this warehouse."""
        if self.is_duckdb:
            return f"duckdb://{self.path.resolve()}"
        # dbt-ol's namespace for Snowflake: the account identifier, lower case, `_` as `-`
        return f"snowflake://{str(self.settings.get('account', '')).lower().replace('_', '-')}"

    @property
    def catalog(self) -> str:
        """The database compiled SQL names: DuckDB's file stem, Snowflake's database."""
        return self.path.stem if self.is_duckdb else str(self.settings.get("database", ""))

    def connect(self, *, read_only: bool = True) -> Connection:
        """A connection, or InputError / WarehouseBusy / CouldNotRun naming what to do."""
        if self.is_duckdb:
            return _connect_duckdb(self.path, read_only=read_only)
        try:
            return SnowflakeConnection(self.settings)
        except Exception as exc:  # noqa: BLE001 - the connector raises many kinds: all mean unreachable
            raise CouldNotRun(f"{self}: cannot connect to Snowflake ({first_line(exc)})"
                              ) from None


def as_warehouse(warehouse: Warehouse | Path) -> Warehouse:
    """A Warehouse; a bare path is a DuckDB file (what callers passed before targets)."""
    return warehouse if isinstance(warehouse, Warehouse) else Warehouse.duckdb(Path(warehouse))


def _connect_duckdb(path: Path, *, read_only: bool) -> Connection:
    if not path.is_file():
        raise InputError(f"{path}: no warehouse yet; {NO_WAREHOUSE_HINT}")
    try:
        return DuckDBConnection(path, read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusy(f"{path}: cannot open ({first_line(exc)}); if dbt is"
                                " running, try again when it ends") from None
        raise InputError(f"{path}: not a DuckDB warehouse ({first_line(exc)})") from None
    except duckdb.Error as exc:
        raise InputError(f"{path}: not a DuckDB warehouse ({first_line(exc)})") from None


def resolve(path: Path | None = None, target: str | None = None,
            project_dir: Path = Path()) -> Warehouse:
    """The warehouse of `--warehouse` / `--target`.

    No target (and `$SYNCGOV_TARGET` unset): the DuckDB file `path`, or the default one. A
    target: its output in the dbt profile; `--warehouse` may then only name the file of a
    DuckDB target.
    """
    target = target or os.environ.get(TARGET_ENV) or None
    if target is None:
        return Warehouse.duckdb(path if path is not None else default_warehouse())
    name, output = read_target(project_dir, target)
    if output["type"] == "duckdb":
        return Warehouse.duckdb(path if path is not None else Path(str(output["path"])), name)
    if path is not None:
        raise UsageError(f"--warehouse names a DuckDB file, but target {name} is Snowflake;"
                         " leave --warehouse out")
    settings = snowflake_settings(output)
    anchor = project_dir / ".warehouse" / name / "snowflake"
    label = f"snowflake://{settings['account']}/{settings.get('database', '')} (target {name})"
    return Warehouse("snowflake", anchor, name, settings, label)


def snowflake_settings(output: dict[str, Any]) -> dict[str, Any]:
    """snowflake.connector.connect() arguments from a dbt-snowflake profile output."""
    missing = [k for k in ("account", "user", "database") if not output.get(k)]
    if missing:
        raise UsageError(f"the Snowflake target lacks {', '.join(missing)} in profiles.yml")
    settings: dict[str, Any] = {
        key: output[key]
        for key in ("account", "user", "password", "role", "warehouse", "database", "schema",
                    "host", "port", "protocol", "authenticator")
        if output.get(key) not in (None, "")
    }
    if output.get("private_key_path"):
        settings["private_key_file"] = output["private_key_path"]
        if output.get("private_key_passphrase"):
            settings["private_key_file_pwd"] = output["private_key_passphrase"]
    settings["login_timeout"] = int(output.get("connect_timeout") or 10)
    settings["network_timeout"] = 60
    settings["client_session_keep_alive"] = bool(output.get("client_session_keep_alive"))
    session = {"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False}
    if output.get("query_tag"):
        session["QUERY_TAG"] = output["query_tag"]
    settings["session_parameters"] = session
    return settings


def cannot_read(warehouse: Warehouse | Path, what: str, exc: QueryError | Exception) -> InputError:
    return InputError(f"{warehouse}: cannot read {what} ({exc})")
