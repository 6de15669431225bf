"""Flows: where data may go, and that every end of a flow is declared."""

from __future__ import annotations

from collections.abc import Iterable

from governance.findings import Severity
from governance.rules import Registry, Violation, rule


@rule("SG401", Severity.ERROR, "A flow writes into a system that accepts no writes")
def flow_into_read_only_system(registry: Registry) -> Iterable[Violation]:
    """A flow's target must accept writes.

    Why: pushing data into a read-only system either fails at run time or, worse, goes
    through a side door nobody owns.
    Fix: point the flow at a system that accepts writes, or set `accepts_writes: true` on the
    target after its owners agree.
    """
    systems = registry["systems"].data["systems"]
    for name, flow in registry["flows"].data["flows"].items():
        target = systems.get(flow["to"])
        if target is not None and not target["accepts_writes"]:
            yield Violation("flows", ("flows", name, "to"),
                            f"flow {name!r} writes into {flow['to']!r}, which accepts no writes")


@rule("SG402", Severity.ERROR, "A flow references an undeclared domain or system")
def flow_references_exist(registry: Registry) -> Iterable[Violation]:
    """A flow's domain and both of its systems must be declared.

    Why: schedules, health and lineage are keyed by these ids; a typo detaches the flow from
    everything that should watch it.
    Fix: correct the id or declare the domain / system.
    """
    systems = registry["systems"].data["systems"]
    domains = registry["domains"].data["domains"]
    for name, flow in registry["flows"].data["flows"].items():
        if flow["domain"] not in domains:
            yield Violation("flows", ("flows", name, "domain"),
                            f"flow {name!r} names undeclared domain {flow['domain']!r}")
        for end in ("from", "to"):
            if flow[end] not in systems:
                yield Violation("flows", ("flows", name, end),
                                f"flow {name!r} names undeclared system {flow[end]!r} as `{end}`")


@rule("SG403", Severity.ERROR, "A bidirectional flow's domain resolves conflicts by system of record only")
def bidirectional_needs_conflict_policy(registry: Registry) -> Iterable[Violation]:
    """A bidirectional flow needs a conflict policy that can arbitrate two writers.

    Why: when both ends write the same fields, `system_of_record` silently discards one side;
    bidirectional sync needs `latest_timestamp`, `workflow_status` or `manual_review`.
    Fix: choose one of those for the domain, or make the flow one-way.
    """
    domains = registry["domains"].data["domains"]
    for name, flow in registry["flows"].data["flows"].items():
        domain = domains.get(flow["domain"])
        if (flow["direction"] == "bidirectional" and domain is not None
                and domain["conflict_policy"] == "system_of_record"):
            yield Violation("flows", ("flows", name, "direction"),
                            f"flow {name!r} is bidirectional but domain {flow['domain']!r} only"
                            " knows its system of record")
