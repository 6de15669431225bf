"""A throwaway PostgreSQL 15 cluster on a free loopback port, for tests that need a real
operational target database (the helpdesk, storefront and procurement stand-ins).

initdb refuses to run as root, so under root the cluster is created and run as the
`postgres` user in a directory that user owns. The cluster listens on 127.0.0.1 only, trusts
local connections (it lives for one test module) and is stopped and deleted afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BINDIR = Path(os.environ.get("SYNCGOV_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
INSTALL_HINT = (
    f"PostgreSQL 15 server binaries not found in {BINDIR}: install them"
    " (Debian/Ubuntu: `apt-get install postgresql-15`) or point SYNCGOV_PG_BINDIR at the"
    " directory holding initdb and pg_ctl"
)


@dataclass(frozen=True)
class PostgresServer:
    port: int
    datadir: Path

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def connect(self, dbname: str = "postgres"):
        import psycopg2  # noqa: PLC0415 - only tests that start a server need the driver

        con = psycopg2.connect(self.dsn(dbname))
        con.autocommit = True
        return con

    def create_database(self, name: str) -> None:
        con = self.connect()
        try:
            con.cursor().execute(f'create database "{name}"')
        finally:
            con.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    """initdb and pg_ctl refuse root: run them as the `postgres` user when we are root."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextlib.contextmanager
def postgres_server(settings: dict[str, str] | None = None) -> Iterator[PostgresServer]:
    """`settings`: extra server settings (`wal_level=logical` for logical replication)."""
    if not (BINDIR / "initdb").exists() or not (BINDIR / "pg_ctl").exists():
        pytest.skip(INSTALL_HINT)
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as
    # `postgres`, which must own its data directory.
    root = Path(tempfile.mkdtemp(prefix="syncgov-pg-"))
    datadir = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    log = root / "server.log"
    started = False
    try:
        subprocess.run(_as_postgres([str(BINDIR / "initdb"), "-D", str(datadir), "-U", "postgres",
                                     "--auth=trust", "--encoding=UTF8", "--no-locale",
                                     "--no-sync"]),
                       check=True, capture_output=True, timeout=120)
        options = (f"-p {port} -h 127.0.0.1 -k {root} -c fsync=off -c synchronous_commit=off"
                   " -c full_page_writes=off")
        for name, value in (settings or {}).items():
            if not (name.replace("_", "").isalnum() and str(value).replace("_", "").isalnum()):
                raise ValueError(f"not a plain server setting: {name}={value}")
            options += f" -c {name}={value}"
        subprocess.run(_as_postgres([str(BINDIR / "pg_ctl"), "-D", str(datadir), "-o", options,
                                     "-l", str(log), "-w", "-t", "60", "start"]),
                       check=True, capture_output=True, timeout=90)
        started = True
        yield PostgresServer(port, datadir)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace")[-2000:]
        server_log = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"starting PostgreSQL failed: {detail}\n{server_log}") from exc
    finally:
        if started:
            subprocess.run(_as_postgres([str(BINDIR / "pg_ctl"), "-D", str(datadir), "-m",
                                         "immediate", "-w", "stop"]),
                           check=False, capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
