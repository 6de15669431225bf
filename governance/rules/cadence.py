"""Cadence against SLO: a schedule must be able to meet the latency it promises."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache

from croniter import croniter

from governance.findings import Severity
from governance.rules import Registry, Violation, rule

STREAMING = {"realtime": 0, "near_realtime": 1}
# Cron gaps are measured over four weeks from a fixed Monday, so weekly patterns count.
_ORIGIN = datetime(2026, 1, 5)


@cache
def longest_gap_minutes(cadence: str) -> float | None:
    """The longest wait between two runs, in minutes; None when the cadence is not valid."""
    if cadence in STREAMING:
        return float(STREAMING[cadence])
    if not croniter.is_valid(cadence):
        return None
    runs = croniter(cadence, _ORIGIN)
    previous = runs.get_next(datetime)
    longest = timedelta(0)
    end = _ORIGIN + timedelta(days=28)
    while previous < end:
        current = runs.get_next(datetime)
        longest = max(longest, current - previous)
        previous = current
    return longest.total_seconds() / 60


@rule("SG301", Severity.ERROR, "A cadence is neither cron nor realtime")
def cadence_is_valid(registry: Registry) -> Iterable[Violation]:
    """A domain's cadence is a five-field cron expression, `realtime` or `near_realtime`.

    Why: schedules are generated from it; an unparseable cadence means no schedule at all.
    Fix: write a valid cron expression such as `*/15 * * * *`.
    """
    for name, domain in registry["domains"].data["domains"].items():
        if longest_gap_minutes(domain["cadence"]) is None:
            yield Violation("domains", ("domains", name, "cadence"),
                            f"cadence {domain['cadence']!r} of domain {name!r} is not a valid cron"
                            " expression, realtime or near_realtime")


@rule("SG302", Severity.ERROR, "A cadence cannot meet the latency SLO")
def cadence_meets_slo(registry: Registry) -> Iterable[Violation]:
    """The longest gap between runs plus the expected run time must fit in the SLO.

    Why: a daily job cannot keep data within 60 minutes; the SLO would be breached by design
    and the health status would be `delayed` most of the day.
    Fix: run more often, or agree a longer SLO with the business owner.
    """
    run = registry["policy"].data["policy"].get("expected_run_minutes", 0)
    for name, domain in registry["domains"].data["domains"].items():
        gap = longest_gap_minutes(domain["cadence"])
        if gap is not None and gap + run > domain["slo_minutes"]:
            yield Violation("domains", ("domains", name, "cadence"),
                            f"cadence {domain['cadence']!r} waits up to {gap:g} min between runs;"
                            f" with {run} min per run that exceeds the {domain['slo_minutes']}-min"
                            " SLO")


@rule("SG303", Severity.ERROR, "Real-time sync outside the allowed tiers without justification")
def realtime_needs_tier(registry: Registry) -> Iterable[Violation]:
    """Real-time and near-real-time cadences are for the policy's critical tiers.

    Why: streaming every domain costs money and attention; the policy reserves it for the
    tiers where minutes matter, unless someone writes down why another domain needs it.
    Fix: use a cron cadence, raise the tier, or add `cadence_justification`.
    """
    allowed = set(registry["policy"].data["policy"]["realtime_tiers"])
    for name, domain in registry["domains"].data["domains"].items():
        if (domain["cadence"] in STREAMING and domain["criticality"] not in allowed
                and not domain.get("cadence_justification")):
            yield Violation("domains", ("domains", name, "cadence"),
                            f"domain {name!r} syncs {domain['cadence']} but is {domain['criticality']};"
                            f" the policy allows it for {', '.join(sorted(allowed))} or with a"
                            " cadence_justification")
