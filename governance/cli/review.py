"""`syncgov review`: the review calendar — what is overdue or due, and who reviews it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.cli.options import registry_option, resolve_warehouse, target_option, today_option
from governance.registry import load_registry
from governance.review_calendar import calendar, due_within, parse_window, render_text


@click.command("review")
@click.option("--within", default="30d", show_default=True,
              help="Also list reviews due within this window: days (30d, 30) or weeks (6w).")
@today_option
@registry_option
@target_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text for people, json for tools.")
@handle_errors
def review_command(within: str, today: date | None, registry_dir: Path, target: str | None,
                   fmt: str) -> None:
    """List domain reviews that are overdue or due soon, soonest first, with their owners.

    A domain is due for review `review_cycle_days` after `last_reviewed` (registry/domains.yml),
    as the lint rules SG201 (overdue) and SG202 (due soon) judge. Exit codes: 0 nothing
    overdue, 1 a review is overdue, 2 unreadable registry or bad usage (a --target that is
    not in the profile). It reads the registry only, the same on every engine; --target is
    checked against the dbt profile, so a scheduler can pass the one it passes to every
    command.
    """
    if target is not None:
        resolve_warehouse(None, target)
    days = parse_window(within)
    day = today or date.today()
    entries = calendar(load_registry(registry_dir), day)
    selected = due_within(entries, day, days)
    if fmt == "json":
        click.echo(json.dumps({"today": day.isoformat(), "within_days": days,
                               "reviews": [e.to_json() for e in selected]}, indent=2))
    else:
        click.echo(render_text(selected, entries, day, days), nl=False)
    if any(e.days_left < 0 for e in selected):
        raise SystemExit(1)


def register(main: click.Group) -> None:
    main.add_command(review_command)
