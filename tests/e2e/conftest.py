"""End-to-end fixtures: a private DuckDB warehouse and dbt target per test, real dbt runs."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from governance.dbt_invoke import DbtInvocation, run_dbt
from governance.simulate import SimulationParams, simulate


@dataclass
class Warehouse:
    project: Path
    root: Path
    _runs: itertools.count = field(default_factory=itertools.count)

    @property
    def path(self) -> Path:
        # The file name is the DuckDB catalog name compiled SQL refers to.
        return self.root / "syncgov.duckdb"

    @property
    def target(self) -> Path:
        return self.root / "target"

    def dbt(self, *args: str, check: bool = True) -> DbtInvocation:
        n = next(self._runs)
        return run_dbt(
            list(args),
            project_dir=self.project,
            log_path=self.root / "logs" / f"{n:02d}-{args[0]}.log",
            env={"SYNCGOV_WAREHOUSE": str(self.path)},
            target_dir=self.target,
            check=check,
        )

    def simulate(self, **kw) -> None:
        simulate(SimulationParams(warehouse=self.path, **kw))

    def query(self, sql: str) -> list[tuple]:
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def columns(self, relation: str) -> list[str]:
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            return [d[0] for d in con.execute(f"select * from {relation} limit 0").description]
        finally:
            con.close()


@pytest.fixture
def warehouse(project_dir: Path, tmp_path: Path) -> Warehouse:
    return Warehouse(project_dir, tmp_path)
