"""The review calendar: when each domain is due for its next review, who reviews it, and what
is overdue — the same dates the review lint rules (SG201, SG202) judge."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from governance.errors import UsageError
from governance.owners import Owners, domain_owners
from governance.registry import RegistryFile
from governance.registry.model import model_of

Registry = dict[str, RegistryFile]
_WINDOW = re.compile(r"^\s*(\d+)\s*([dw]?)\s*$")


@dataclass(frozen=True)
class ReviewEntry:
    domain: str
    criticality: str
    last_reviewed: date
    cycle_days: int
    due: date
    days_left: int  # negative when overdue
    owners: Owners

    @property
    def state(self) -> str:
        if self.days_left < 0:
            return "overdue"
        return "due today" if self.days_left == 0 else "due"

    def to_json(self) -> dict:
        return {
            "domain": self.domain, "criticality": self.criticality,
            "last_reviewed": self.last_reviewed.isoformat(), "cycle_days": self.cycle_days,
            "due": self.due.isoformat(), "days_left": self.days_left, "state": self.state,
            "technical_owner": self.owners.technical.name,
            "business_owner": self.owners.business.name,
            "reviewers": [m.email for m in self.owners.business.with_role("business_owner")
                          + self.owners.stewards],
            "channel": self.owners.business.channel,
        }


def parse_window(text: str) -> int:
    """`30d`, `6w` or `30` (days) as a number of days."""
    match = _WINDOW.match(text)
    if not match:
        raise UsageError(f"--within {text!r}: expected days or weeks, such as 30d or 6w")
    n = int(match.group(1))
    return n * 7 if match.group(2) == "w" else n


def calendar(registry: Registry, today: date) -> tuple[ReviewEntry, ...]:
    """Every domain's next review, soonest (most overdue) first."""
    entries = []
    for name, spec in model_of(registry).domains.items():
        due = spec.due_date
        entries.append(ReviewEntry(
            domain=name,
            criticality=spec.criticality,
            last_reviewed=date.fromisoformat(spec.last_reviewed),
            cycle_days=spec.review_cycle_days,
            due=due,
            days_left=(due - today).days,
            owners=domain_owners(registry, name),
        ))
    return tuple(sorted(entries, key=lambda e: (e.due, e.domain)))


def due_within(entries: tuple[ReviewEntry, ...], today: date, days: int) -> tuple[ReviewEntry, ...]:
    """The overdue reviews and those due within `days` of `today`."""
    horizon = today + timedelta(days=days)
    return tuple(e for e in entries if e.due <= horizon)


def render_text(selected: tuple[ReviewEntry, ...], all_entries: tuple[ReviewEntry, ...],
                today: date, days: int) -> str:
    if not selected:
        upcoming = next(iter(all_entries), None)
        tail = f"; next: {upcoming.domain} on {upcoming.due.isoformat()}" if upcoming else ""
        return f"no review overdue or due within {days} days of {today.isoformat()}{tail}\n"
    lines = [f"reviews overdue or due within {days} days of {today.isoformat()}:"]
    for e in selected:
        when = (f"{-e.days_left} days overdue" if e.days_left < 0
                else "today" if e.days_left == 0 else f"in {e.days_left} days")
        reviewers = ", ".join(m.email for m in e.owners.business.with_role("business_owner"))
        lines.append(f"  {e.due.isoformat()}  {e.state:<9} {e.domain:<12} {when:<18}"
                     f" owners {e.owners.technical.name} / {e.owners.business.name}"
                     + (f" ({reviewers})" if reviewers else ""))
    return "\n".join(lines) + "\n"
