"""The faults the simulator can inject, and the `NAME=RATE,...` syntax that selects them."""

from __future__ import annotations

from dataclasses import dataclass, fields

from governance.errors import UsageError


@dataclass(frozen=True)
class FaultRates:
    """Rates in [0, 1]. Event faults are per event, batch faults per batch.

    Batch faults: `missing_batch`, `partial_batch`, `late_commit`, `stalled_system` (the
    fraction of the trailing batches of this run that one system, chosen by the seed, never
    delivers: neither rows nor ledger entries arrive) and `recovery` (on `--append`: the
    fraction of that stalled backlog, oldest first, delivered in this run), `volume_drop` (the
    fraction of the trailing batches in which one landing table, chosen by the seed, delivers
    on time and reconciled but only a tenth of its usual rows).

    The faults that make an event invalid are exclusive: one draw per event picks at most one
    of them, in the order of `INVALIDATING_FAULTS`; if their rates add up to more than 1, the
    later ones get what is left.
    """

    duplicate: float = 0.0
    out_of_order: float = 0.0
    late: float = 0.0
    conflict: float = 0.0
    invalid: float = 0.0
    missing_batch: float = 0.0
    partial_batch: float = 0.0
    stalled_system: float = 0.0
    late_commit: float = 0.0
    future_loaded_at: float = 0.0
    future_event_at: float = 0.0
    offset_timestamps: float = 0.0
    conflicting_redelivery: float = 0.0
    null_metadata: float = 0.0
    wrong_source_system: float = 0.0
    recovery: float = 0.0
    volume_drop: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


FAULT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(FaultRates))

# Event faults that give an event a quarantine reason, in the order one draw assigns them.
INVALIDATING_FAULTS: tuple[str, ...] = (
    "invalid",
    "null_metadata",
    "wrong_source_system",
    "future_loaded_at",
    "future_event_at",
)

# The mix the demo uses: every fault visible, none overwhelming. No `recovery`: the demo's
# stalled system stays stalled, so its domain shows as delayed.
DEMO_FAULTS = FaultRates(
    duplicate=0.03,
    out_of_order=0.03,
    late=0.01,
    conflict=0.02,
    invalid=0.01,
    missing_batch=0.02,
    partial_batch=0.02,
    stalled_system=0.3,
    late_commit=0.2,
    future_loaded_at=0.001,
    future_event_at=0.001,
    offset_timestamps=0.02,
    conflicting_redelivery=0.005,
    null_metadata=0.001,
    wrong_source_system=0.001,
    volume_drop=0.04,  # one trailing batch of 24: the latest batch of one table at a tenth
)


def parse_faults(spec: str) -> FaultRates:
    """Parse `duplicate=0.02,invalid=0.01`; `none` and `demo` are named presets."""
    text = spec.strip()
    if text in ("", "none"):
        return FaultRates()
    if text == "demo":
        return DEMO_FAULTS
    rates: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        name = name.strip().replace("-", "_")
        if not sep:
            raise UsageError(f"--faults: expected NAME=RATE, got {part.strip()!r}")
        if name not in FAULT_NAMES:
            raise UsageError(
                f"--faults: unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}"
            )
        if name in rates:
            raise UsageError(f"--faults: {name!r} given twice")
        try:
            rate = float(value)
        except ValueError:
            raise UsageError(f"--faults: rate for {name!r} is not a number: {value!r}") from None
        if not 0.0 <= rate <= 1.0:
            raise UsageError(f"--faults: rate for {name!r} must be between 0 and 1, got {rate}")
        rates[name] = rate
    return FaultRates(**rates)
