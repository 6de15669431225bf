"""Which warehouse a command reaches: --warehouse, --target (the dbt profile), $SYNCGOV_TARGET."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from governance.errors import InputError, UsageError
from governance.warehouse import Warehouse, resolve
from governance.warehouse.connection import DuckDBConnection, QueryError

PROJECT = Path(__file__).resolve().parents[3]
SNOWFLAKE_ENV = {"SNOWFLAKE_ACCOUNT": "xy12345.eu-central-1", "SNOWFLAKE_USER": "syncgov_dbt",
                 "SNOWFLAKE_ROLE": "syncgov_reader", "SNOWFLAKE_WAREHOUSE": "syncgov_monitor_wh",
                 "SNOWFLAKE_DATABASE": "syncgov"}


@pytest.fixture(autouse=True)
def _profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBT_PROFILES_DIR", str(PROJECT))
    for name in ("SYNCGOV_TARGET", "SYNCGOV_WAREHOUSE", *SNOWFLAKE_ENV, "SNOWFLAKE_PASSWORD",
                 "SNOWFLAKE_PRIVATE_KEY_PATH", "SNOWFLAKE_HOST", "SNOWFLAKE_PORT"):
        monkeypatch.delenv(name, raising=False)


def test_without_a_target_the_duckdb_file_is_the_warehouse(tmp_path: Path) -> None:
    assert resolve(tmp_path / "w.duckdb", None, PROJECT) == Warehouse.duckdb(tmp_path / "w.duckdb")
    assert resolve(None, None, PROJECT).path == Path(".warehouse/syncgov.duckdb")


def test_a_duckdb_target_names_its_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert resolve(None, "ci", PROJECT) == Warehouse.duckdb(Path(".warehouse/ci.duckdb"), "ci")
    monkeypatch.setenv("SYNCGOV_WAREHOUSE", str(tmp_path / "x.duckdb"))
    ci = resolve(None, "ci", PROJECT)
    assert ci.path == tmp_path / "x.duckdb"
    assert ci.dbt_env() == {"SYNCGOV_TARGET": "ci", "SYNCGOV_WAREHOUSE": str(tmp_path / "x.duckdb")}


def test_the_snowflake_target_reads_the_profiles_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SNOWFLAKE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SNOWFLAKE_PRIVATE_KEY_PATH", "/keys/syncgov.p8")
    monkeypatch.setenv("SYNCGOV_TARGET", "snowflake")  # as the profile's own default does
    wh = resolve(None, None, PROJECT)
    assert wh.engine == "snowflake"
    assert str(wh) == "snowflake://xy12345.eu-central-1/syncgov (target snowflake)"
    assert wh.settings["private_key_file"] == "/keys/syncgov.p8"
    assert "password" not in wh.settings
    assert "host" not in wh.settings  # the account's own endpoint
    assert wh.settings["session_parameters"]["QUERY_TAG"] == "syncgov"
    assert wh.settings["role"] == "syncgov_reader"
    assert wh.dbt_env() == {"SYNCGOV_TARGET": "snowflake"}
    assert wh.path == PROJECT / ".warehouse" / "snowflake" / "snowflake"
    assert wh.namespace == "snowflake://xy12345.eu-central-1"


def test_target_mistakes_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no such target .* known: ci, dev, snowflake"):
        resolve(None, "prod", PROJECT)
    with pytest.raises(UsageError, match="SNOWFLAKE_"):
        resolve(None, "snowflake", PROJECT)
    with pytest.raises(UsageError, match="--warehouse names a DuckDB file"):
        resolve(tmp_path / "w.duckdb", "snowflake_emulated", PROJECT)


def test_duckdb_connection_reads_names_in_any_case(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).execute(
        "create schema audit; create table audit.Sync_Log (Export_Id varchar, n bigint)").close()
    with Warehouse.duckdb(path).connect() as con:
        assert con.relation_exists("AUDIT", "sync_log")
        assert not con.relation_exists("audit", "sync_log_x")
        assert con.columns("audit") == [("sync_log", "export_id", "VARCHAR"),
                                        ("sync_log", "n", "BIGINT")]
        with pytest.raises(QueryError, match="sync_nothing"):
            con.execute("select * from audit.sync_nothing")
    with pytest.raises(InputError, match="no warehouse yet"):
        Warehouse.duckdb(tmp_path / "none.duckdb").connect()
    assert DuckDBConnection(":memory:").execute("select ?", [3]).fetchone() == (3,)


COMMANDS = ["run", "status", "report", "metrics", "export", "replay", "contracts", "impact",
            "review"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_takes_a_target(command: str) -> None:
    syncgov = str(Path(sys.executable).with_name("syncgov"))
    helptext = subprocess.run([syncgov, command, "--help"], capture_output=True, text=True,
                              check=True, cwd=PROJECT).stdout
    assert "--target NAME" in helptext
    args = {"replay": ["--domain", "customer"], "impact": ["customer"]}.get(command, [])
    proc = subprocess.run([syncgov, command, *args, "--target", "prod"], capture_output=True,
                          text=True, check=False, cwd=PROJECT,
                          env={"PATH": "/usr/bin:/bin", "DBT_PROFILES_DIR": str(PROJECT)})
    assert proc.returncode == 2, proc.stderr
    assert "--target prod: no such target in profile 'syncgov'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_delivery_on_a_snowflake_target_is_refused_before_connecting() -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("syncgov")), "run", "--domain", "customer",
         "--deliver", "--target", "snowflake_emulated"], capture_output=True, text=True,
        check=False, cwd=PROJECT, timeout=60,
        env={"PATH": "/usr/bin:/bin", "DBT_PROFILES_DIR": str(PROJECT),
             "SYNCGOV_FAKESNOW_PORT": "1"})  # nothing listens: connecting would be exit 3
    assert proc.returncode == 2, proc.stderr
    assert "--deliver: delivery reads export models through drt's DuckDB source" in proc.stderr
