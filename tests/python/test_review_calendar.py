"""The review calendar: due dates, the window, the order, exit codes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from governance.cli import main
from governance.errors import UsageError
from governance.registry import load_registry
from governance.review_calendar import calendar, due_within, parse_window

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("text", "days"), [("30d", 30), ("30", 30), ("6w", 42), (" 0d ", 0)])
def test_windows(text: str, days: int) -> None:
    assert parse_window(text) == days


@pytest.mark.parametrize("text", ["", "d", "-3d", "1m", "2 weeks"])
def test_bad_windows(text: str) -> None:
    with pytest.raises(UsageError):
        parse_window(text)


def test_calendar_is_sorted_by_due_date_and_windowed() -> None:
    registry = load_registry(REPO / "registry")
    today = date(2027, 1, 20)
    entries = calendar(registry, today)
    assert [e.due for e in entries] == sorted(e.due for e in entries)
    domains = registry["domains"].data["domains"]
    for e in entries:
        spec = domains[e.domain]
        assert (e.due - date.fromisoformat(spec["last_reviewed"])).days == spec["review_cycle_days"]
        assert e.owners.business.name == spec["owners"]["business"]
    selected = due_within(entries, today, 14)
    assert [(e.domain, e.state) for e in selected] == [("order", "overdue"), ("inventory", "due")]


def test_cli_exit_codes_and_json() -> None:
    runner = CliRunner()
    quiet = runner.invoke(main, ["review", "--today", "2026-11-24"])
    assert quiet.exit_code == 0
    assert quiet.output == ("no review overdue or due within 30 days of 2026-11-24;"
                            " next: order on 2027-01-18\n")
    late = runner.invoke(main, ["review", "--today", "2027-01-20", "--within", "2w",
                                "--format", "json"])
    assert late.exit_code == 1
    document = json.loads(late.output)
    assert [(r["domain"], r["days_left"], r["reviewers"][0]) for r in document["reviews"]] == [
        ("order", -2, "lea.lager@example.com"), ("inventory", 11, "lea.lager@example.com")]
    bad = runner.invoke(main, ["review", "--within", "soon"])
    assert bad.exit_code == 2
