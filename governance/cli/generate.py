"""`syncgov generate`: write (or check) the dbt inputs derived from the registry."""

from __future__ import annotations

from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.cli.options import registry_option
from governance.generate import render, stale_files, write


@click.command("generate")
@click.option("--check", is_flag=True,
              help="Change nothing; exit 1 and name the files that differ from the registry.")
@registry_option
@click.option("--project-dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=Path(), show_default=True, help="The dbt project to write into.")
@handle_errors
def generate_command(check: bool, registry_dir: Path, project_dir: Path) -> None:
    """Derive the dbt project's repetitive parts from the registry, the single source of truth.

    \b
    Writes, per landing table (an inbound flow's `landing` block):
      models/staging/<system>/_<system>__sources.yml  the dbt source: freshness from the SLO
                                 and the policy's warn ratio, the ledger's loaded_at_query,
                                 the batch-latency test
      models/staging/<system>/stg_<system>__<table>.sql and _<system>__models.yml
                                 staging (types, enums, key) and its tests
      models/state/by_source/state_<system>__<table>.sql  per-source state
    per domain with landing tables:
      models/state/<domain>_state.sql, _state__models.yml  entity state and its tests
      models/history/<domain>_history.sql, _history__models.yml  its SCD2 history (an
                                 entity_history call) and the history's tests
    and:
      macros/generated/sync_landing_tables.sql  the landing-table catalogue the control
                                 models iterate over
      models/landing/*           for a landing table a tool lands (its `loader`): the
                                 landing view over the tool's table, the ledger view
                                 sync_ledger, the tool's sources
      models/exports/_exports__contracts.yml   each export model's enforced contract
      models/exports/_exports__exposures.yml   a dbt exposure per export, for lineage
      seeds/generated/*.csv      ownership, classification, policy and landing tables

    Generated files carry a header. A generated file the registry no longer implies is
    removed. Export models' SQL stays hand-written; `syncgov lint --dbt-parse` checks its
    columns against the registry. CI runs `--check`, which exits 1 when someone edited a
    generated file or forgot to regenerate.
    """
    if check:
        stale = stale_files(registry_dir, project_dir)
        if stale:
            click.echo("syncgov generate: stale (run `syncgov generate`): " + ", ".join(stale),
                       err=True)
            raise SystemExit(1)
        count = len(render(registry_dir, project_dir))
        click.echo(f"syncgov generate: {count} generated files match the registry")
        return
    written = write(registry_dir, project_dir)
    click.echo("syncgov generate: " + (f"wrote {', '.join(written)}" if written else "up to date"))


def register(main: click.Group) -> None:
    main.add_command(generate_command)
