"""`syncgov generate`: write (or check) the dbt inputs derived from the registry."""

from __future__ import annotations

from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.cli.options import registry_option
from governance.generate import GENERATED, stale_files, write


@click.command("generate")
@click.option("--check", is_flag=True,
              help="Change nothing; exit 1 and name the files that differ from the registry.")
@registry_option
@click.option("--project-dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=Path(), show_default=True, help="The dbt project to write into.")
@handle_errors
def generate_command(check: bool, registry_dir: Path, project_dir: Path) -> None:
    """Derive dbt inputs from the registry, the single source of truth for ownership and policy.

    \b
    Writes:
      seeds/generated/domain_policies.csv   system of record, tier, SLO, cadence, conflict
                                            policy, degradation, freshness thresholds
      seeds/generated/field_ownership.csv   owning system and classification of every field
      seeds/generated/domain_sources.csv    the landing tables of each domain (from flows)
      models/exports/_exports__exposures.yml  a dbt exposure per export, for lineage

    CI runs `--check`, which exits 1 when someone edited a generated file or forgot to
    regenerate.
    """
    if check:
        stale = stale_files(registry_dir, project_dir)
        if stale:
            click.echo("syncgov generate: stale (run `syncgov generate`): " + ", ".join(stale),
                       err=True)
            raise SystemExit(1)
        click.echo(f"syncgov generate: {len(GENERATED)} generated files match the registry")
        return
    written = write(registry_dir, project_dir)
    click.echo("syncgov generate: " + (f"wrote {', '.join(written)}" if written else "up to date"))


def register(main: click.Group) -> None:
    main.add_command(generate_command)
