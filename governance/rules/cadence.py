"""Cadence against SLO: a schedule must be able to meet the latency it promises."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from croniter import CroniterError, croniter

from governance.findings import Severity
from governance.registry.model import STREAMING, RegistryModel, model_of
from governance.rules import Registry, Violation, rule

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


def _cadences(model: RegistryModel) -> Iterable[tuple[str, tuple, str, str]]:
    """(kind, key path, cadence, label) of every domain and flow cadence and export schedule."""
    for name, domain in model.domains.items():
        yield "domains", ("domains", name, "cadence"), domain.cadence, f"domain {name!r}"
    for name, flow in model.flows.items():
        if flow.cadence is not None:
            yield "flows", ("flows", name, "cadence"), flow.cadence, f"flow {name!r}"
    for name, export in model.exports.items():
        yield "exports", ("exports", name, "schedule"), export.schedule, f"export {name!r}"
        if export.degraded_schedule is not None:
            yield ("exports", ("exports", name, "degraded_schedule"), export.degraded_schedule,
                   f"export {name!r} (degraded)")


@dataclass(frozen=True)
class _Scheduled:
    """A domain, or a flow with a cadence of its own, with the SLO and tier it answers to."""

    kind: str
    path: tuple
    label: str
    cadence: str
    slo: int | None
    tier: str | None
    tier_holder: str  # whose tier it is, for messages
    justified: bool


def _scheduled(model: RegistryModel) -> Iterable[_Scheduled]:
    """Every domain, and every flow with its own cadence (which takes its domain's tier, and
    its own `slo_minutes` or else its domain's SLO)."""
    for name, domain in model.domains.items():
        yield _Scheduled("domains", ("domains", name, "cadence"), f"domain {name!r}",
                         domain.cadence, domain.slo_minutes, domain.criticality, "it",
                         bool(domain.cadence_justification))
    for name, flow in model.flows.items():
        if flow.cadence is None:
            continue
        domain = model.domains.get(flow.domain)
        yield _Scheduled("flows", ("flows", name, "cadence"), f"flow {name!r}", flow.cadence,
                         model.flow_slo_minutes(flow), domain.criticality if domain else None,
                         f"its domain {flow.domain!r}", bool(flow.cadence_justification))


@rule("SG301", Severity.ERROR, "A cadence is neither cron nor realtime")
def cadence_is_valid(registry: Registry) -> Iterable[Violation]:
    """A cadence (domain, flow) or export schedule (and degraded schedule) is a five-field cron
    expression, `realtime` or `near_realtime`.

    Why: schedules are generated from it; an unparseable cadence means no schedule at all.
    Fix: write a valid cron expression such as `*/15 * * * *`.
    """
    for kind, path, cadence, label in _cadences(model_of(registry)):
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
    model = model_of(registry)
    run = model.policy.get("expected_run_minutes", 0)
    for item in _scheduled(model):
        gap = longest_gap_minutes(item.cadence)
        if item.slo is not None and gap is not None and gap + run > item.slo:
            yield Violation(item.kind, item.path,
                            f"{item.label} runs {item.cadence!r}, waiting up to {gap:g} min"
                            f" between runs; with {run} min per run that exceeds its"
                            f" {item.slo}-min SLO")


@rule("SG303", Severity.ERROR, "Real-time sync outside the allowed tiers without justification")
def realtime_needs_tier(registry: Registry) -> Iterable[Violation]:
    """Real-time and near-real-time cadences are for the policy's critical tiers.

    Checked for domains and for flows with their own cadence (a flow takes its domain's tier;
    a flow may also carry a `cadence_justification`).
    Why: streaming every domain costs money and attention; the policy reserves it for the
    tiers where minutes matter, unless someone writes down why another domain needs it.
    Fix: use a cron cadence, raise the tier, or add `cadence_justification`.
    """
    model = model_of(registry)
    allowed = set(model.policy["realtime_tiers"])
    for item in _scheduled(model):
        if (item.cadence in STREAMING and item.tier is not None and item.tier not in allowed
                and not item.justified):
            yield Violation(item.kind, item.path,
                            f"{item.label} syncs {item.cadence} but {item.tier_holder} is"
                            f" {item.tier}; the policy allows it for {', '.join(sorted(allowed))}"
                            " or with a cadence_justification")
