"""The loader adapters compile for Snowflake (the emulated target) into SQL that sqlglot reads as
Snowflake, with no function Snowflake does not have: the dispatched JSON, epoch and zone
macros take their Snowflake branch. (Running them needs real VARIANT columns: fakesnow's JSON
emulation is not Snowflake's, so this lane checks the SQL, not its results.)"""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from tests.e2e.fakesnow_server import fakesnow_server
from tests.e2e.loader_harness import LandingTable, project_warehouse
from tests.e2e.test_loader_airbyte_fivetran import TABLES as FIXTURE_TABLES
from tests.e2e.test_loader_debezium_postgres import TABLES as DEBEZIUM_TABLES
from tests.e2e.test_loader_dlt import _table as dlt_table
from tests.e2e.test_snowflake_emulated import SNOWFLAKE_FUNCTIONS_UNKNOWN_TO_SQLGLOT, TARGET

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fakesnow")]

DUCKDB_ONLY = {"json_extract_string", "json_extract", "make_timestamp", "strftime", "epoch"}


def test_every_adapter_compiles_to_snowflake_sql(tmp_path):
    tables: list[LandingTable] = [*FIXTURE_TABLES.values(), *DEBEZIUM_TABLES, dlt_table("suppliers", counted=True)]
    wh = project_warehouse(tmp_path, tables)
    with fakesnow_server(tmp_path / "logs" / "fakesnow.log") as server:
        from governance.dbt_invoke import run_dbt  # noqa: PLC0415

        run_dbt(["compile", "--select", "path:models/landing", "--target", TARGET], project_dir=wh.project,
                log_path=tmp_path / "logs" / "compile.log", env=server.env, target_dir=tmp_path / "target-sf")
    files = sorted((tmp_path / "target-sf" / "compiled").rglob("landing_*.sql"))
    assert len(files) == len(tables) + 1  # and the ledger view
    failures = {}
    for path in files:
        statements = [s for s in sqlglot.parse(path.read_text(), read="snowflake") if s]
        functions = {f.name.lower() for s in statements for f in s.find_all(exp.Anonymous)}
        named = {type(f).__name__.lower() for s in statements for f in s.find_all(exp.Func)}
        bad = (functions - SNOWFLAKE_FUNCTIONS_UNKNOWN_TO_SQLGLOT) | (DUCKDB_ONLY & (functions | named))
        if bad:
            failures[path.name] = sorted(bad)
    assert failures == {}
