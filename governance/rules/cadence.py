"""Cadence against SLO: a schedule must be able to meet the latency it promises."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache

from croniter import CroniterError, croniter

from governance.findings import Severity
from governance.rules import Registry, Violation, rule

STREAMING = {"realtime": 0, "near_realtime": 1}
# Cron gaps are measured from a fixed Monday over two periods of the pattern (a day, a week,
# or a year and a bit when the day-of-month or month field is restricted).
_ORIGIN = datetime(2026, 1, 5)
_MAX_RUNS = 20_000  # ~14 days of a per-minute cron: enough to see its weekends


@cache
def longest_gap_minutes(cadence: str) -> float | None:
    """The longest wait between two runs, in minutes; None when the cadence is not valid."""
    if cadence in STREAMING:
        return float(STREAMING[cadence])
    fields = cadence.split()
    if len(fields) != 5 or not croniter.is_valid(cadence):
        return None
    # a pattern repeats daily when only minute and hour are set, weekly when the weekday is
    # set too; two periods show every gap, including the one across the period's end
    if fields[2:] == ["*", "*", "*"]:
        days = 2
    elif fields[2] == fields[3] == "*":
        days = 15
    else:
        days = 400
    end = _ORIGIN + timedelta(days=days)
    try:
        runs = croniter(cadence, _ORIGIN)
        previous = runs.get_next(datetime)
        longest = timedelta(0)
        for _ in range(_MAX_RUNS):
            current = runs.get_next(datetime)
            longest = max(longest, current - previous)
            previous = current
            if previous >= end:
                break
    except (CroniterError, ValueError, OverflowError):
        return None  # e.g. `0 0 31 2 *`: valid syntax, but it never runs
    return longest.total_seconds() / 60


def _cadences(registry: Registry) -> Iterable[tuple[str, tuple, str, str]]:
    """(kind, key path, cadence, label) of every domain and flow cadence and export schedule."""
    for name, domain in registry["domains"].data["domains"].items():
        yield "domains", ("domains", name, "cadence"), domain["cadence"], f"domain {name!r}"
    for name, flow in registry["flows"].data["flows"].items():
        if "cadence" in flow:
            yield "flows", ("flows", name, "cadence"), flow["cadence"], f"flow {name!r}"
    for name, export in registry["exports"].data["exports"].items():
        yield "exports", ("exports", name, "schedule"), export["schedule"], f"export {name!r}"
        if "degraded_schedule" in export:
            yield ("exports", ("exports", name, "degraded_schedule"), export["degraded_schedule"],
                   f"export {name!r} (degraded)")


@rule("SG301", Severity.ERROR, "A cadence is neither cron nor realtime")
def cadence_is_valid(registry: Registry) -> Iterable[Violation]:
    """A cadence (domain, flow) or export schedule (and degraded schedule) is a five-field cron
    expression, `realtime` or `near_realtime`.

    Why: schedules are generated from it; an unparseable cadence means no schedule at all.
    Fix: write a valid cron expression such as `*/15 * * * *`.
    """
    for kind, path, cadence, label in _cadences(registry):
        if longest_gap_minutes(cadence) is None:
            yield Violation(kind, path, f"cadence {cadence!r} of {label} is not a valid cron"
                            " expression, realtime or near_realtime")


@rule("SG302", Severity.ERROR, "A cadence cannot meet the latency SLO")
def cadence_meets_slo(registry: Registry) -> Iterable[Violation]:
    """The longest gap between runs plus the expected run time must fit in the SLO.

    Checked for every domain, and for every flow with its own cadence (against the flow's
    `slo_minutes`, or its domain's SLO).

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
    domains = registry["domains"].data["domains"]
    for name, flow in registry["flows"].data["flows"].items():
        if "cadence" not in flow:
            continue
        slo = flow.get("slo_minutes") or domains.get(flow["domain"], {}).get("slo_minutes")
        gap = longest_gap_minutes(flow["cadence"])
        if slo is not None and gap is not None and gap + run > slo:
            yield Violation("flows", ("flows", name, "cadence"),
                            f"flow {name!r} runs {flow['cadence']!r}, waiting up to {gap:g} min;"
                            f" with {run} min per run that exceeds its {slo}-min SLO")


@rule("SG303", Severity.ERROR, "Real-time sync outside the allowed tiers without justification")
def realtime_needs_tier(registry: Registry) -> Iterable[Violation]:
    """Real-time and near-real-time cadences are for the policy's critical tiers.

    Checked for domains and for flows with their own cadence (a flow takes its domain's tier;
    a flow may also carry a `cadence_justification`).
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
    domains = registry["domains"].data["domains"]
    for name, flow in registry["flows"].data["flows"].items():
        tier = domains.get(flow["domain"], {}).get("criticality")
        if (flow.get("cadence") in STREAMING and tier is not None and tier not in allowed
                and not flow.get("cadence_justification")):
            yield Violation("flows", ("flows", name, "cadence"),
                            f"flow {name!r} syncs {flow['cadence']} but its domain"
                            f" {flow['domain']!r} is {tier}; the policy allows it for"
                            f" {', '.join(sorted(allowed))} or with a cadence_justification")
