"""`syncgov simulate`: a deterministic, fault-injecting landing zone for the demo, tests and benchmarks."""

from governance.simulate.faults import FAULT_NAMES, FaultRates, parse_faults
from governance.simulate.generator import (
    QUARANTINE_REASONS,
    SimulationParams,
    SimulationResult,
    simulate,
    truth_key,
)

__all__ = [
    "FAULT_NAMES",
    "QUARANTINE_REASONS",
    "FaultRates",
    "SimulationParams",
    "SimulationResult",
    "parse_faults",
    "simulate",
    "truth_key",
]
