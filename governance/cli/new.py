"""`syncgov new domain`: scaffold a new domain in the registry."""

from __future__ import annotations

from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.cli.options import registry_option, today_option
from governance.scaffold import DomainSpec, new_domain, parse_enum, parse_field


@click.group("new")
def new_group() -> None:
    """Scaffold registry entries (then `syncgov generate` writes the dbt parts)."""


@new_group.command("domain")
@click.argument("name")
@click.option("--system", required=True, help="The source system the domain comes from (its"
              " system of record).")
@click.option("--kind", default=None, help="What the system is (erp, crm, tms, ...); needed when"
              " the system is new to the registry.")
@click.option("--table", required=True, help="The landing table's entity name: the loader"
              " writes landing.<system>__<table>.")
@click.option("--key", "key", required=True, help="The business key column, or several"
              " separated by commas for a composite key.")
@click.option("--key-name", default=None, help="The staged column of a composite key.")
@click.option("--field", "fields", multiple=True, required=True, metavar="NAME[:TYPE]",
              help="A field the table carries; TYPE is string (default), int, money, timestamp"
              " or date. Repeat for each field.")
@click.option("--enum", "enums", multiple=True, metavar="FIELD=A|B|C",
              help="The allowed values of a field. Repeatable.")
@click.option("--technical-team", default="data-platform", show_default=True,
              help="The team that runs the domain's sync (teams.yml).")
@click.option("--business-team", required=True, help="The team that answers for the data"
              " (teams.yml).")
@click.option("--slo-minutes", type=int, default=60, show_default=True,
              help="How stale the domain may be.")
@click.option("--cadence", default="*/15 * * * *", show_default=True,
              help="Cron expression, or realtime / near_realtime.")
@click.option("--tier", default="tier_2", show_default=True, help="tier_1, tier_2 or tier_3.")
@click.option("--transport", default="api", show_default=True,
              help="cdc, kafka, api, webhook, batch_file or queue.")
@click.option("--no-extract", is_flag=True, help="The source sends no full extracts (a pure"
              " event stream): no drift check.")
@click.option("--description", default=None, help="One line on what the domain holds.")
@registry_option
@today_option
@handle_errors
def new_domain_command(name: str, system: str, kind: str | None, table: str, key: str,
                       key_name: str | None, fields: tuple[str, ...], enums: tuple[str, ...],
                       technical_team: str, business_team: str, slo_minutes: int, cadence: str,
                       tier: str, transport: str, no_extract: bool, description: str | None,
                       registry_dir: Path, today) -> None:
    """Add a domain NAME, its inbound flow and landing table, and (when new) its system.

    \b
    Example:
      syncgov new domain shipment --system tms --kind tms --table shipments \\
        --key shipment_id --field order_id --field carrier \\
        --field shipped_at:timestamp --field status --enum "status=booked|in_transit|delivered" \\
        --business-team fulfilment --slo-minutes 60

    Fields are owned by the system and classified `internal`; review the new entries (owners,
    classifications, SLO, conflict policy), then run `syncgov generate` and `dbt build`.
    """
    enum_map = dict(parse_enum(e) for e in enums)
    parsed = tuple(parse_field(f, enum_map) for f in fields)
    unknown = set(enum_map) - {f.name for f in parsed}
    if unknown:
        raise click.UsageError(f"--enum names {', '.join(sorted(unknown))}, which no --field"
                               " declares")
    spec = DomainSpec(
        name=name, system=system, kind=kind, table=table,
        key=tuple(k.strip() for k in key.split(",")), key_name=key_name, fields=parsed,
        technical_team=technical_team, business_team=business_team, slo_minutes=slo_minutes,
        cadence=cadence, tier=tier, transport=transport, extract=not no_extract,
        description=description, **({"today": today} if today else {}))
    for line in new_domain(registry_dir, spec):
        click.echo(f"added {line}")
    click.echo("next: review the entries (classification, owners, SLO), then run"
               " `syncgov generate`, `syncgov lint` and `dbt build`")


def register(main: click.Group) -> None:
    main.add_command(new_group)
