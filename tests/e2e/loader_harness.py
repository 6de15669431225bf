"""A small dbt project around the loader adapters (macros/loaders/): a tool's raw tables in
schema `raw`, a landing view per table that calls its adapter, a ledger view, and the real
staging, state and control models on top, built with the project's own macros.

Until the registry generates the landing views (issue 15), tests declare them here; the models
above them (stage_events, latest_events_state, stg__staged_batches, sync_reconciliation,
sync_drift, sync_event_dispositions) are the project's own, copied unchanged.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tests.e2e.conftest import Warehouse

REPO = Path(__file__).resolve().parents[2]
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
COPIED_MODELS = (
    "models/staging/stg__staged_batches.sql",
    "models/control/sync_landed_batches.sql",
    "models/control/sync_reconciliation.sql",
    "models/control/sync_drift_by_extract.sql",
    "models/control/sync_drift.sql",
    "models/control/sync_event_dispositions.sql",
)


@dataclass(frozen=True)
class LandingTable:
    """One landing table: `columns` are (name, sync type) pairs, the key first; `landing` and
    `ledger` are the adapter calls (Jinja) that produce the landing view and its ledger rows."""

    system: str
    entity: str
    columns: tuple[tuple[str, str], ...]
    landing: str
    ledger: str
    extract: bool = False
    raw_tables: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in (self.system, self.entity, *(c for c, _ in self.columns), *self.raw_tables):
            if not _NAME.fullmatch(name):
                raise ValueError(f"not a plain identifier: {name!r}")

    @property
    def name(self) -> str:
        return f"{self.system}__{self.entity}"

    @property
    def key(self) -> str:
        return self.columns[0][0]


def write_project(root: Path, tables: list[LandingTable]) -> Path:
    """The project under `root`/project, ready for `dbt run`."""
    project = root / "project"
    shutil.copytree(REPO / "macros", project / "macros")
    shutil.copy(REPO / "dbt_project.yml", project / "dbt_project.yml")
    shutil.copy(REPO / "profiles.yml", project / "profiles.yml")
    for path in COPIED_MODELS:
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / path, project / path)
    (project / "models" / "landing").mkdir(parents=True)
    (project / "models" / "state").mkdir(parents=True)

    catalogue = [
        {"system": t.system, "entity": t.entity, "domain": t.entity, "key": t.key,
         "key_column": t.key, "state": f"state_{t.name}", **({} if t.extract else {"extract": False})}
        for t in tables
    ]
    (project / "macros" / "generated" / "sync_landing_tables.sql").write_text(
        "{% macro sync_landing_tables() %}{{ return(" + json.dumps(catalogue).replace("false", "False")
        + ") }}{% endmacro %}\n"
        # the ledger is the harness's own landing.sync_batches view (the project generates
        # sync_ledger from the registry's loaders); the harness has no entity states
        "{% macro sync_ledger() %}{{ return(source('landing', 'sync_batches')) }}{% endmacro %}\n"
        "{% macro sync_domains() %}{{ return({}) }}{% endmacro %}\n"
    )

    sources: list[dict] = [
        {"name": "raw", "schema": "raw",
         "tables": [{"name": r} for r in dict.fromkeys(r for t in tables for r in t.raw_tables)]},
        {"name": "landing", "schema": "landing", "tables": [{"name": "sync_batches"}]},
    ]
    for t in tables:
        entries = [{"name": t.entity, "identifier": t.name}]
        if t.extract:
            entries.append({"name": f"{t.entity}_extract", "identifier": f"{t.name}_extract"})
        sources.append({"name": t.system, "schema": "landing", "tables": entries})
    (project / "models" / "staging" / "_sources.yml").write_text(
        json.dumps({"version": 2, "sources": sources}, indent=2)
    )

    for t in tables:
        (project / "models" / "landing" / f"landing_{t.name}.sql").write_text(
            f"{{{{ config(materialized='view', schema='landing', alias='{t.name}') }}}}\n{t.landing}\n"
        )
        cols = ", ".join(f"['{c}', '{c}', '{ty}']" for c, ty in t.columns)
        (project / "models" / "staging" / f"stg_{t.name}.sql").write_text(
            f"{{{{ stage_events(source_name='{t.system}', table_name='{t.entity}', columns=[{cols}]) }}}}\n"
        )
        payload = ", ".join(f"'{c}'" for c, _ in t.columns[1:])
        (project / "models" / "state" / f"state_{t.name}.sql").write_text(
            f"{{{{ config(unique_key='{t.key}') }}}}\n"
            f"{{{{ latest_events_state(staged=ref('stg_{t.name}'), key='{t.key}', columns=[{payload}]) }}}}\n"
        )
    ledger = "\nunion all\n".join(f"select * from ({t.ledger}) as ledger_{t.name}" for t in tables)
    (project / "models" / "landing" / "landing_sync_batches.sql").write_text(
        "{{ config(materialized='view', schema='landing', alias='sync_batches') }}\n" + ledger + "\n"
    )
    return project


class LoaderWarehouse(Warehouse):
    """A Warehouse over the loader project: raw tables in, a cycle, state and controls out."""

    def execute(self, sql: str, params: list | None = None) -> None:
        con = duckdb.connect(str(self.path))
        try:
            con.execute("create schema if not exists raw")
            con.execute("create schema if not exists landing")
            con.execute(sql, params or [])
        finally:
            con.close()

    def create_views(self) -> None:
        self.dbt("run", "--select", "path:models/landing")

    def cycle(self) -> None:
        """Staging, state and the controls over whatever has landed (the landing views are
        views: they read the raw tables at query time). Drift runs on its own, once an extract
        is written."""
        self.dbt("run", "--exclude", "path:models/landing", "sync_drift_by_extract", "sync_drift")

    def state(self, t: LandingTable) -> dict[str, tuple]:
        """Live rows of the state table, key → payload values as text."""
        cols = ", ".join(f"cast({c} as varchar)" for c, _ in t.columns[1:])
        rows = self.query(f"select cast({t.key} as varchar), {cols} from state.state_{t.name} where not _is_deleted")
        return {r[0]: tuple(r[1:]) for r in rows}

    def tombstones(self, t: LandingTable) -> set[str]:
        rows = self.query(f"select cast({t.key} as varchar) from state.state_{t.name} where _is_deleted")
        return {r[0] for r in rows}

    def dispositions(self, t: LandingTable) -> dict[str, int]:
        """How the landed rows were disposed of (applied, superseded, duplicate, … and the
        errors not_staged / unaccounted: a landed event the warehouse lost)."""
        rows = self.query(
            "select disposition, count(*) from control.sync_event_dispositions"
            f" where landing_table = '{t.name}' group by disposition"
        )
        return dict(rows)

    def reconciliation(self, t: LandingTable) -> dict[str, tuple]:
        rows = self.query(
            "select batch_id, reconciliation_status, rows_sent, rows_landed from control.sync_reconciliation"
            f" where landing_table = '{t.name}'"
        )
        return {r[0]: r[1:] for r in rows}


def project_warehouse(tmp_path: Path, tables: list[LandingTable]) -> LoaderWarehouse:
    return LoaderWarehouse(write_project(tmp_path, tables), tmp_path)
