"""Review dates: every domain is looked at again within its cycle, and cycles have a ceiling."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from governance.findings import Severity
from governance.registry.model import model_of
from governance.rules import Registry, Violation, rule

# `syncgov lint --today` sets this so review findings are deterministic.
TODAY: list[date] = [date.today()]


@rule("SG201", Severity.ERROR, "A domain's review is overdue")
def review_overdue(registry: Registry) -> Iterable[Violation]:
    """A domain must be reviewed within its review cycle.

    Why: ownership, SLOs and conflict policies drift with the business; an unreviewed
    declaration is a guess that nobody has confirmed.
    Fix: review the domain with its owners and set `last_reviewed` to the review date.
    """
    for name, domain in model_of(registry).domains.items():
        due = domain.due_date
        if due < TODAY[0]:
            yield Violation("domains", ("domains", name, "last_reviewed"),
                            f"domain {name!r} was due for review on {due.isoformat()}"
                            f" ({(TODAY[0] - due).days} days ago)")


@rule("SG202", Severity.WARNING, "A domain's review is due soon")
def review_due_soon(registry: Registry) -> Iterable[Violation]:
    """A domain whose review falls due within the policy's warning window (default 30 days).

    Why: a warning in time lets the owners plan the review instead of breaking the build.
    Fix: schedule the review; set `last_reviewed` when it is done.
    """
    window = registry["policy"].data["policy"].get("review_due_warning_days", 30)
    for name, domain in model_of(registry).domains.items():
        due = domain.due_date
        if TODAY[0] <= due <= TODAY[0] + timedelta(days=window):
            yield Violation("domains", ("domains", name, "last_reviewed"),
                            f"domain {name!r} is due for review on {due.isoformat()}")


@rule("SG203", Severity.ERROR, "A review cycle exceeds the policy maximum")
def review_cycle_within_policy(registry: Registry) -> Iterable[Violation]:
    """A domain's review cycle may not exceed the organisation's maximum.

    Why: a long cycle is an easy way to make the overdue rule go quiet.
    Fix: shorten `review_cycle_days` to at most the policy's `max_review_cycle_days`.
    """
    maximum = registry["policy"].data["policy"]["max_review_cycle_days"]
    for name, domain in registry["domains"].data["domains"].items():
        if domain["review_cycle_days"] > maximum:
            yield Violation("domains", ("domains", name, "review_cycle_days"),
                            f"domain {name!r} has a {domain['review_cycle_days']}-day review cycle;"
                            f" the policy allows at most {maximum}")
