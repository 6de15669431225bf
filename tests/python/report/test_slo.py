"""SLO attainment in minutes from health observations, the too-few note, and gate values in
plain words."""

from __future__ import annotations

from datetime import datetime, timedelta

from governance.control_tables import HealthObservation
from governance.report.slo import MIN_OBSERVATIONS, minute_attainment, plain

T0 = datetime(2026, 11, 1)


def obs(minutes: float, status: str = "current", staleness: int = 2, slo: int = 15,
        domain: str = "order") -> HealthObservation:
    return HealthObservation(domain, T0 + timedelta(minutes=minutes), status, slo, staleness, 1.0)


def test_minutes_within_the_slo_are_held_until_the_next_check() -> None:
    # hourly checks for 8 days; between hour 10 and hour 13 the data is older than its SLO
    history = [obs(60 * h, "delayed" if 10 <= h < 13 else "current",
                   staleness=40 if 10 <= h < 13 else 2) for h in range(8 * 24 + 1)]
    by_period = {a.period_days: a for a in minute_attainment(history)}
    week = by_period[7]
    assert week.observed_minutes == 7 * 1440
    assert week.observations == 7 * 24 + 1
    # the delayed hours lie before the 7-day window (day 0): all of the week is within the SLO
    assert week.within_minutes == 7 * 1440
    month = by_period[30]
    assert month.observed_minutes == 8 * 1440
    assert month.within_minutes == 8 * 1440 - 3 * 60
    assert round(month.attainment, 6) == round(1 - 180 / (8 * 1440), 6)
    assert round(month.error_budget_burn, 3) == round((180 / (8 * 1440)) / 0.01, 3)
    assert week.enough
    assert week.note == ""
    assert month.enough  # 8 of 30 days observed: at least a quarter of the period
    # 5 days of 30 is too little of the period to judge, however many checks
    short = {a.period_days: a for a in minute_attainment(history[:5 * 24 + 1])}[30]
    assert short.observations == 121
    assert not short.enough
    assert "too few observations to judge: 121 health check(s) covering 120.0 h of 30 days" \
        in short.note


def test_the_slo_not_the_status_decides_and_failures_count_against() -> None:
    history = [obs(0, "partial", staleness=5), obs(60, "current", staleness=20),
               obs(120, "failed", staleness=3), obs(180, "current")]
    week = next(a for a in minute_attainment(history) if a.period_days == 7)
    # partial but fresh counts as within the latency SLO; stale or failed does not
    assert (week.observed_minutes, week.within_minutes) == (180, 60)
    assert week.observations == 4 < MIN_OBSERVATIONS
    assert "4 health check(s) covering 3.0 h of 7 days" in week.note


def test_the_check_before_the_period_holds_into_it() -> None:
    week = 7 * 1440
    history = [obs(0), obs(100, "delayed", staleness=40), obs(week + 60)]
    [seven] = [a for a in minute_attainment(history) if a.period_days == 7]
    # the period starts at minute 60: the check at 0 holds until 100, then delayed
    assert (seven.observed_minutes, seven.within_minutes) == (week, 40)
    assert seven.observations == 2


def test_each_domain_separately() -> None:
    history = [obs(0, domain="a"), obs(30, domain="a"), obs(0, domain="b", staleness=99),
               obs(30, domain="b", staleness=99)]
    rows = {(a.domain, a.period_days): a.within_minutes for a in minute_attainment(history)}
    assert rows == {("a", 7): 30, ("a", 30): 30, ("b", 7): 0, ("b", 30): 0}


def test_gate_values_in_plain_words() -> None:
    assert plain({"phone": 3, "email_address": 12000}) == "phone 3, email address 12,000"
    assert plain({"tests": 20, "failed": [], "not_run": ["a", "b"]}) == \
        "tests 20, failed none, not run a, b"
    assert plain(None) == "none"
    assert plain(True) == "yes"
    assert plain(0.0123456) == "0.01235"
    assert "{" not in plain({"nested": {"x": 1}})
