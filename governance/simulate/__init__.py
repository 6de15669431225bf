"""`syncgov simulate`: a deterministic, fault-injecting landing zone for the demo, tests and benchmarks."""

from governance.simulate.faults import FAULT_NAMES, FaultRates, parse_faults
from governance.simulate.generator import SimulationParams, SimulationResult, simulate

__all__ = [
    "FAULT_NAMES",
    "FaultRates",
    "SimulationParams",
    "SimulationResult",
    "parse_faults",
    "simulate",
]
