"""Options several commands share: where the warehouse, registry and dbt project are, and
which day it is."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from governance.warehouse import default_warehouse


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
    help="The DuckDB warehouse to read. [default: $SYNCGOV_WAREHOUSE or .warehouse/syncgov.duckdb]")
registry_option = click.option(
    "--registry", "registry_dir", type=click.Path(path_type=Path), default=Path("registry"),
    show_default=True, help="The registry directory.")
project_dir_option = click.option(
    "--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path(),
    show_default=True, help="The dbt project whose target/manifest.json describes the lineage.")
today_option = click.option(
    "--today", type=DateParam(), default=None,
    help="Judge review dates as of this day (deterministic CI). [default: today]")


def resolve_warehouse(warehouse: Path | None) -> Path:
    return warehouse if warehouse is not None else default_warehouse()
read_wait_option = click.option(
    "--wait", "wait", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
    help="While a cycle holds the warehouse, wait up to this long and read it live, instead of"
         " answering at once from the last published snapshot. [default: don't wait]")
