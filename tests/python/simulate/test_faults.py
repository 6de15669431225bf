from __future__ import annotations

import pytest

from governance.errors import UsageError
from governance.simulate.faults import DEMO_FAULTS, FAULT_NAMES, FaultRates, parse_faults


def test_parses_rates_by_name() -> None:
    rates = parse_faults("duplicate=0.02, invalid=0.5,stalled-system=1")
    assert rates == FaultRates(duplicate=0.02, invalid=0.5, stalled_system=1.0)


def test_presets() -> None:
    assert parse_faults("none") == FaultRates()
    assert parse_faults("") == FaultRates()
    assert parse_faults("demo") == DEMO_FAULTS
    shown = {name for name, rate in DEMO_FAULTS.as_dict().items() if rate > 0}
    assert shown == set(FAULT_NAMES) - {"recovery"}, "the demo shows every fault but recovery"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("dup=0.1", "unknown fault 'dup'"),
        ("duplicate", "expected NAME=RATE"),
        ("duplicate=abc", "is not a number"),
        ("duplicate=1.5", "between 0 and 1"),
        ("duplicate=-0.1", "between 0 and 1"),
        ("late=0.1,late=0.2", "given twice"),
    ],
)
def test_rejects_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_faults(spec)


def test_every_fault_of_the_issue_is_known() -> None:
    assert set(FAULT_NAMES) == {
        "duplicate", "out_of_order", "late", "conflict", "invalid",
        "missing_batch", "partial_batch", "stalled_system", "volume_drop",
        "late_commit", "future_loaded_at", "future_event_at", "offset_timestamps",
        "conflicting_redelivery", "null_metadata", "wrong_source_system", "recovery",
    }


def test_parses_the_faults_of_issue_12() -> None:
    rates = parse_faults(
        "late-commit=0.2,future_loaded_at=0.01,future_event_at=0.01,offset_timestamps=1,"
        "conflicting_redelivery=0.05,null_metadata=0.02,wrong_source_system=0.03,recovery=1"
    )
    assert rates == FaultRates(
        late_commit=0.2, future_loaded_at=0.01, future_event_at=0.01, offset_timestamps=1.0,
        conflicting_redelivery=0.05, null_metadata=0.02, wrong_source_system=0.03, recovery=1.0,
    )
    with pytest.raises(UsageError, match="between 0 and 1"):
        parse_faults("recovery=1.01")
