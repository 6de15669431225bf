"""SLO attainment as time: over the last 7 and 30 days, how many minutes each domain's data
was within its latency SLO (the last successful load no older than the SLO), from the health
observations of sync_health_history (one per dbt build).

Between two observations the earlier one's verdict holds (sample and hold), so the figure is
as good as the build cadence is dense; with too few observations, or observations that cover
too little of the period, the report says so instead of presenting a number as a judgement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from governance.control_tables import HealthObservation

PERIODS = (7, 30)
MIN_OBSERVATIONS = 12
MIN_COVERAGE = 0.25  # of the period
DEFAULT_TARGET = 0.99


@dataclass(frozen=True)
class MinuteAttainment:
    domain: str
    period_days: int
    observations: int
    observed_minutes: float
    within_minutes: float
    slo_target: float

    @property
    def attainment(self) -> float:
        return self.within_minutes / self.observed_minutes if self.observed_minutes else 0.0

    @property
    def error_budget_burn(self) -> float:
        return (1 - self.attainment) / (1 - self.slo_target)

    @property
    def enough(self) -> bool:
        return (self.observations >= MIN_OBSERVATIONS
                and self.observed_minutes >= MIN_COVERAGE * self.period_days * 1440)

    @property
    def note(self) -> str:
        if self.enough:
            return ""
        hours = self.observed_minutes / 60
        return (f"too few observations to judge: {self.observations} health check(s) covering"
                f" {hours:,.1f} h of {self.period_days} days (needs {MIN_OBSERVATIONS} checks"
                f" over at least {MIN_COVERAGE:.0%} of the period)")


def within_slo(h: HealthObservation) -> bool:
    return (h.status not in ("failed", "unknown") and h.staleness_minutes is not None
            and h.slo_minutes is not None and h.staleness_minutes <= h.slo_minutes)


def minute_attainment(history: Sequence[HealthObservation], target: float = DEFAULT_TARGET,
                      now: datetime | None = None) -> tuple[MinuteAttainment, ...]:
    """Per domain and period, minutes observed and minutes within the latency SLO."""
    if not history:
        return ()
    end = now or max(h.evaluated_at for h in history)
    out = []
    for domain in dict.fromkeys(h.domain for h in history):
        mine = sorted((h for h in history if h.domain == domain), key=lambda h: h.evaluated_at)
        for days in PERIODS:
            start = end - timedelta(days=days)
            # the last observation before the period still holds at its start
            before = [h for h in mine if h.evaluated_at < start][-1:]
            inside = [h for h in mine if start <= h.evaluated_at <= end]
            held = before + inside
            observed = within = 0.0
            for h, nxt in zip(held, [*held[1:], None], strict=True):
                since = max(h.evaluated_at, start)
                until = nxt.evaluated_at if nxt else end
                minutes = max(0.0, (until - since).total_seconds() / 60)
                observed += minutes
                within += minutes if within_slo(h) else 0.0
            out.append(MinuteAttainment(domain, days, len(inside), observed, within, target))
    return tuple(out)


def plain(value: object) -> str:
    """A gate's observed value or threshold in words: `phone 3, email 2`, `none`, `yes`."""
    if value is None or (isinstance(value, dict | list | tuple) and not value):
        text = "none"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:,.4g}"
    elif isinstance(value, int):
        text = f"{value:,}"
    elif isinstance(value, dict):
        text = ", ".join(f"{str(k).replace('_', ' ')} {plain(v)}" for k, v in value.items())
    elif isinstance(value, list | tuple):
        text = ", ".join(plain(v) for v in value)
    else:
        text = str(value)
    return text
