"""`syncgov contracts`: one data contract per domain, in a published standard."""

from __future__ import annotations

from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.cli.options import (
    project_dir_option,
    registry_option,
    resolve_warehouse,
    target_option,
    warehouse_option,
)
from governance.contracts import FORMATS, write_contracts
from governance.lint import load_manifest
from governance.registry import load_registry


@click.command("contracts")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="odcs", show_default=True,
              help="odcs: Open Data Contract Standard v3 (YAML).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("target") / "contracts", show_default=True,
              help="Directory to write <domain>.odcs.yaml into (created).")
@warehouse_option
@target_option
@registry_option
@project_dir_option
@handle_errors
def contracts_command(fmt: str, out_dir: Path, warehouse: Path | None, target: str | None,
                      registry_dir: Path, project_dir: Path) -> None:
    """Write one data contract per domain: the state model's schema with each field's
    classification and owning system, the owning teams and their support and escalation
    channels, SLA properties for latency and frequency, and review dates as custom
    properties. Each document is validated against the ODCS JSON Schema before it is written.

    Columns and types are read from the warehouse's state tables (the DuckDB file, or the
    warehouse of the dbt target --target names: DuckDB or Snowflake); descriptions and the key
    from target/manifest.json when it is there. Exit 2 on an unreadable registry or warehouse.
    """
    manifest = load_manifest(project_dir)
    written = write_contracts(load_registry(registry_dir), resolve_warehouse(warehouse, target, project_dir),
                              manifest,
                              out_dir, fmt)
    click.echo("\n".join(map(str, written)))


def register(main: click.Group) -> None:
    main.add_command(contracts_command)
