"""An emulated Snowflake for the CI lane: a `fakesnow -s` server on loopback, and a loader
that copies a simulated DuckDB landing zone into it through the Snowflake connector."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import snowflake.connector

# The values the `snowflake_emulated` target in profiles.yml expects; fakesnow accepts any.
DATABASE = "syncgov"
SCHEMA = "main"

# DuckDB landing types -> Snowflake types (the landing contract uses only these).
_TYPES = {
    "VARCHAR": "varchar",
    "TIMESTAMP": "timestamp_ntz",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
    "DATE": "date",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class FakesnowServer:
    port: int
    log_path: Path

    @property
    def env(self) -> dict[str, str]:
        """What dbt needs to reach this server through the `snowflake_emulated` target."""
        return {"SYNCGOV_FAKESNOW_PORT": str(self.port), "SYNCGOV_TARGET": "snowflake_emulated"}

    def connect(self) -> snowflake.connector.SnowflakeConnection:
        return snowflake.connector.connect(
            account="fakesnow",
            user="fake",
            password="snow",
            host="localhost",
            port=self.port,
            protocol="http",
            database=DATABASE,
            schema=SCHEMA,
            network_timeout=10,
            session_parameters={"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
        )


def _fakesnow_executable() -> str:
    candidate = Path(sys.executable).with_name("fakesnow")
    return str(candidate) if candidate.exists() else "fakesnow"


@contextlib.contextmanager
def fakesnow_server(log_path: Path, timeout: float = 30.0) -> Iterator[FakesnowServer]:
    """Start `fakesnow -s` on a free loopback port, wait until it listens, stop it on exit."""
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [_fakesnow_executable(), "-s", "-p", str(port), "--host", "127.0.0.1"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        try:
            _wait_until_listening(proc, port, timeout, log_path)
            yield FakesnowServer(port, log_path)
        finally:
            # fakesnow's server stops cleanly on SIGINT only.
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_until_listening(proc: subprocess.Popen, port: int, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"fakesnow exited with {proc.returncode}: {log.read_text()[-2000:]}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"fakesnow did not listen on port {port} within {timeout}s")


def _literal(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return f"'{value.isoformat(sep=' ')}'::timestamp_ntz"
    if isinstance(value, dt.date):
        return f"'{value.isoformat()}'::date"
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def load_landing(
    warehouse: Path, server: FakesnowServer, schema: str = "landing", chunk: int = 500
) -> dict[str, int]:
    """Copy every table of `schema` in the DuckDB `warehouse` into the emulator, same names and
    columns; return the rows copied per table. Plain multi-row inserts: the emulator does not
    support the PUT/COPY route that `write_pandas` takes."""
    source = duckdb.connect(str(warehouse), read_only=True)
    copied: dict[str, int] = {}
    try:
        tables = [
            r[0]
            for r in source.execute(
                "select table_name from information_schema.tables where table_schema = ? "
                "order by table_name",
                [schema],
            ).fetchall()
        ]
        with server.connect() as target:
            cur = target.cursor()
            cur.execute(f"create schema if not exists {DATABASE}.{schema}")
            for table in tables:
                columns = source.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
                ddl = ", ".join(f"{name} {_TYPES[kind]}" for name, kind in columns)
                cur.execute(f"create or replace table {DATABASE}.{schema}.{table} ({ddl})")
                rows = source.execute(f'select * from "{schema}"."{table}"').fetchall()
                for start in range(0, len(rows), chunk):
                    values = ",\n".join(
                        "(" + ", ".join(_literal(v) for v in row) + ")"
                        for row in rows[start : start + chunk]
                    )
                    cur.execute(f"insert into {DATABASE}.{schema}.{table} values {values}")
                copied[table] = len(rows)
    finally:
        source.close()
    return copied
