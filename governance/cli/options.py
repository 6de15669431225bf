"""Options several commands share: where the warehouse, registry and dbt project are, and
which day it is."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from governance.warehouse import Warehouse, resolve


class DateParam(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date (YYYY-MM-DD)", param, ctx)


warehouse_option = click.option(
    "--warehouse", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="The DuckDB warehouse file (a DuckDB target's own file when --target is given)."
         " [default: $SYNCGOV_WAREHOUSE or .warehouse/syncgov.duckdb]")
TARGET_HELP = ("The dbt target (an output of the project's profile in profiles.yml) whose"
               " warehouse to use, DuckDB or Snowflake, with the connection settings dbt uses."
               " [default: $SYNCGOV_TARGET; unset: the DuckDB file of --warehouse]")


def target_option_as(dest: str):  # a click decorator
    """--target into parameter `dest` (impact's argument is already called TARGET)."""
    return click.option("--target", dest, default=None, metavar="NAME", help=TARGET_HELP)


target_option = target_option_as("target")
registry_option = click.option(
    "--registry", "registry_dir", type=click.Path(path_type=Path), default=Path("registry"),
    show_default=True, help="The registry directory.")
project_dir_option = click.option(
    "--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path(),
    show_default=True, help="The dbt project whose target/manifest.json describes the lineage.")
today_option = click.option(
    "--today", type=DateParam(), default=None,
    help="Judge review dates as of this day (deterministic CI). [default: today]")


def resolve_warehouse(warehouse: Path | None, target: str | None = None,
                      project_dir: Path = Path()) -> Warehouse:
    """The warehouse of --warehouse / --target (governance.warehouse.resolve)."""
    return resolve(warehouse, target, project_dir)
read_wait_option = click.option(
    "--wait", "wait", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
    help="While a cycle holds the warehouse, wait up to this long and read it live, instead of"
         " answering at once from the last published snapshot. [default: don't wait]")
