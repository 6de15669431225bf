"""`syncgov impact`: what breaks downstream when a domain or a source goes wrong."""

from __future__ import annotations

import json
from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.cli.options import (
    project_dir_option,
    registry_option,
    resolve_warehouse,
    target_option_as,
)
from governance.impact import impact, read_manifest, render_text
from governance.registry import load_registry


@click.command("impact")
@click.argument("target")
@registry_option
@project_dir_option
@target_option_as("dbt_target")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text for people, json for tools.")
@handle_errors
def impact_command(target: str, registry_dir: Path, project_dir: Path, dbt_target: str | None,
                   fmt: str) -> None:
    """List what depends on TARGET: downstream models (by layer), history, exposures and
    data tests from the dbt lineage (target/manifest.json), and the exports and outbound
    flows the registry declares on it.

    TARGET is a domain (customer), a source system (crm), a landing table (crm__accounts) or
    a dbt source (crm.accounts). It reads the registry and the manifest only, the same on
    every engine; --target (a dbt target, DuckDB or Snowflake) is checked against the
    profile, so a scheduler can pass the one it passes to every command. Exit 2 when there
    is no manifest, TARGET is unknown or --target is not in the profile.
    """
    if dbt_target is not None:
        resolve_warehouse(None, dbt_target, project_dir)
    result = impact(target, load_registry(registry_dir), read_manifest(project_dir))
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        click.echo(render_text(result), nl=False)


def register(main: click.Group) -> None:
    main.add_command(impact_command)
