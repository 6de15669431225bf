"""A connection to the warehouse, whichever the engine: the few operations syncgov's readers
and audit writers need, with the same Python values back from DuckDB and Snowflake."""

from __future__ import annotations

import decimal
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import duckdb

from governance.errors import CouldNotRun
from governance.warehouse.sql import quote, render_snowflake

# Every statement syncgov sends to Snowflake is appended here when set (an audit trail, and
# how the CI lane checks that each one parses as Snowflake SQL).
SQL_LOG_ENV = "SYNCGOV_SQL_LOG"


class QueryError(CouldNotRun):
    """The engine rejected a statement, or the connection broke while running it. Readers
    turn the ones they foresee into InputError (exit 2); any other is exit 3, never a
    traceback."""


class Result:
    """Rows of one statement, fetched: `fetchall()`, `fetchone()`, `description`."""

    def __init__(self, rows: list[tuple], names: Sequence[str]) -> None:
        self._rows = rows
        self.description = [(n,) for n in names]

    def fetchall(self) -> list[tuple]:
        return list(self._rows)

    def fetchone(self) -> tuple | None:
        return self._rows[0] if self._rows else None


class Connection(Protocol):
    engine: str

    def execute(self, sql: str, params: Sequence[object] = ()) -> Result: ...
    def relation_exists(self, schema: str, name: str) -> bool: ...
    def columns(self, schema: str, name: str | None = None) -> list[tuple[str, str, str]]: ...
    def quote(self, identifier: str) -> str: ...
    def close(self) -> None: ...


class _Common:
    engine = ""

    def execute(self, sql: str, params: Sequence[object] = ()) -> Result:
        raise NotImplementedError

    def quote(self, identifier: str) -> str:
        return quote(identifier, self.engine)

    def relation_exists(self, schema: str, name: str) -> bool:
        (n,) = self.execute(
            "select count(*) from information_schema.tables"
            " where lower(table_schema) = ? and lower(table_name) = ?",
            [schema.lower(), name.lower()]).fetchone()
        return bool(n)

    def columns(self, schema: str, name: str | None = None) -> list[tuple[str, str, str]]:
        """(table, column, type) of `schema` (or of one relation in it), lower-case names,
        in table and column order."""
        # Snowflake's information schema says NUMBER for every number: its scale tells an
        # integer (NUMBER(38,0), as Snowflake writes it) from a decimal
        kind = ("case when data_type = 'NUMBER' then 'NUMBER(' || numeric_precision || ','"
                " || numeric_scale || ')' else data_type end" if self.engine == "snowflake"
                else "data_type")
        sql = (f"select lower(table_name), lower(column_name), {kind}"
               " from information_schema.columns where lower(table_schema) = ?")
        params: list[object] = [schema.lower()]
        if name is not None:
            sql += " and lower(table_name) = ?"
            params.append(name.lower())
        return [tuple(r) for r in self.execute(
            sql + " order by lower(table_name), ordinal_position", params).fetchall()]

    def __enter__(self) -> Connection:
        return self  # type: ignore[return-value]

    def __exit__(self, *exc: object) -> None:
        self.close()  # type: ignore[attr-defined]


class DuckDBConnection(_Common):
    engine = "duckdb"

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        self._con = duckdb.connect(str(path), read_only=read_only)

    def execute(self, sql: str, params: Sequence[object] = ()) -> Result:
        try:
            cur = self._con.execute(sql, list(params))
            names = [d[0] for d in cur.description or ()]
            return Result(cur.fetchall() if cur.description else [], names)
        except duckdb.Error as exc:
            raise QueryError(first_line(exc)) from None

    @classmethod
    def wrap(cls, raw: duckdb.DuckDBPyConnection) -> DuckDBConnection:
        """A connection over an open DuckDB connection (closing it closes that one)."""
        con = cls.__new__(cls)
        con._con = raw
        return con

    @property
    def raw(self) -> Any:
        """The DuckDB connection itself, for the DuckDB-only paths (delivery through drt)."""
        return self._con

    def close(self) -> None:
        self._con.close()


def _python(value: object) -> object:
    """Snowflake's NUMBER comes back as Decimal; DuckDB gives int or float: give the same."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class SnowflakeConnection(_Common):
    engine = "snowflake"

    def __init__(self, settings: dict[str, Any]) -> None:
        # heavy, and only Snowflake targets need it; its vendored requests warns about the
        # installed urllib3 and its pool logs every retry: the error we raise says it all
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import snowflake.connector  # noqa: PLC0415
        logging.getLogger("snowflake.connector").setLevel(logging.ERROR)

        self._errors = snowflake.connector.errors
        self._con = snowflake.connector.connect(**settings)
        self._log = os.environ.get(SQL_LOG_ENV)

    def execute(self, sql: str, params: Sequence[object] = ()) -> Result:
        text = render_snowflake(sql, params)
        if self._log:
            with open(self._log, "a", encoding="utf-8") as log:
                log.write(text.rstrip().rstrip(";") + ";\n")
        try:
            cur = self._con.cursor()
            try:
                cur.execute(text)
                names = [d[0].lower() for d in cur.description or ()]
                rows = [tuple(_python(v) for v in row) for row in cur.fetchall()] \
                    if cur.description else []
            finally:
                cur.close()
        except self._errors.Error as exc:
            raise QueryError(first_line(exc)) from None
        return Result(rows, names)

    def close(self) -> None:
        self._con.close()


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def as_connection(con: Connection | duckdb.DuckDBPyConnection) -> Connection:
    """A Connection; a bare DuckDB connection (what callers passed before the access layer)
    is wrapped."""
    return DuckDBConnection.wrap(con) if isinstance(con, duckdb.DuckDBPyConnection) else con
