"""Direction: where data may go — flows and exports into writable systems, no write-back loops,
and two-way sync only with a conflict policy that can arbitrate."""

from __future__ import annotations

from collections.abc import Iterable

from governance.findings import Severity
from governance.registry.model import model_of
from governance.rules import Registry, Violation, rule


@rule("SG401", Severity.ERROR, "A flow or export writes into a system that accepts no writes")
def flow_into_read_only_system(registry: Registry) -> Iterable[Violation]:
    """A flow's target, and an export's target system, must accept writes.

    Why: pushing data into a read-only system either fails at run time or, worse, goes
    through a side door nobody owns.
    Fix: point the flow at a system that accepts writes, or set `accepts_writes: true` on the
    target after its owners agree.
    """
    model = model_of(registry)
    for name, flow in model.flows.items():
        target = model.systems.get(flow.target)
        if target is not None and not target.accepts_writes:
            yield Violation("flows", ("flows", name, "to"),
                            f"flow {name!r} writes into {flow.target!r}, which accepts no writes")
    for name, export in model.exports.items():
        target = model.systems.get(export.target_system)
        if target is not None and not target.accepts_writes:
            yield Violation("exports", ("exports", name, "target", "system"),
                            f"export {name!r} writes into {export.target_system!r}, which"
                            " accepts no writes")


@rule("SG402", Severity.ERROR, "A flow references an undeclared domain or system")
def flow_references_exist(registry: Registry) -> Iterable[Violation]:
    """A flow's domain and both of its systems must be declared.

    Why: schedules, health and lineage are keyed by these ids; a typo detaches the flow from
    everything that should watch it.
    Fix: correct the id or declare the domain / system.
    """
    model = model_of(registry)
    for name, flow in model.flows.items():
        if flow.domain not in model.domains:
            yield Violation("flows", ("flows", name, "domain"),
                            f"flow {name!r} names undeclared domain {flow.domain!r}")
        for end, system in (("from", flow.source), ("to", flow.target)):
            if system not in model.systems:
                yield Violation("flows", ("flows", name, end),
                                f"flow {name!r} names undeclared system {system!r} as `{end}`")


@rule("SG403", Severity.ERROR, "A bidirectional flow's domain resolves conflicts by system of record only")
def bidirectional_needs_conflict_policy(registry: Registry) -> Iterable[Violation]:
    """A bidirectional flow needs a conflict policy that can arbitrate two writers.

    Why: when both ends write the same fields, `system_of_record` silently discards one side;
    bidirectional sync needs `latest_timestamp`, `workflow_status` or `manual_review`.
    Fix: choose one of those for the domain, or make the flow one-way.
    """
    model = model_of(registry)
    for name, flow in model.flows.items():
        domain = model.domains.get(flow.domain)
        if (flow.direction == "bidirectional" and domain is not None
                and domain.conflict_policy == "system_of_record"):
            yield Violation("flows", ("flows", name, "direction"),
                            f"flow {name!r} is bidirectional but domain {flow.domain!r} only"
                            " knows its system of record")


@rule("SG404", Severity.ERROR, "An export writes a field back into the system that owns it")
def export_writes_back_to_owner(registry: Registry) -> Iterable[Violation]:
    """An export may not send a field to the system that owns that field.

    Why: the owner is where the field changes; writing the warehouse's copy back creates a
    ping-pong loop in which a stale value overwrites a newer one, then syncs in again as a
    "change". This is the classic reverse-ETL incident.
    Fix: drop the field from the export's `fields`, or, if the target really should own it,
    move the field's `owner` in domains.yml (and stop syncing it in from the old owner).
    """
    model = model_of(registry)
    for name, export in model.exports.items():
        target = export.target_system
        for ref in export.fields:
            domain = model.domains.get(ref.domain)
            spec = domain.fields.get(ref.field) if domain else None
            if spec is not None and spec.owner == target:
                yield Violation("exports", ("exports", name, "fields", ref.target_field),
                                f"export {name!r} writes {ref.domain}.{ref.field} into"
                                f" {target!r}, which owns that field (a write-back loop)")


@rule("SG405", Severity.ERROR, "A field's owning system sends no flow for its domain")
def field_owner_sends_the_domain(registry: Registry) -> Iterable[Violation]:
    """The system that owns a field must be the source (`from`) of a flow of that domain.

    Why: survivorship takes each field from its owner. If the owner never sends the domain,
    the field stays empty in state — or, worse, someone wires an undeclared feed to fill it.
    Fix: declare the flow that brings the domain from the owning system, or give the field
    to the system that actually sends it.
    """
    model = model_of(registry)
    senders: dict[str, set[str]] = {}
    for flow in model.flows.values():
        senders.setdefault(flow.domain, set()).add(flow.source)
    for name, domain in model.domains.items():
        for field, spec in domain.fields.items():
            # an undeclared owner is SG501's finding
            if spec.owner in model.systems and spec.owner not in senders.get(name, set()):
                yield Violation("domains", ("domains", name, "fields", field, "owner"),
                                f"{name}.{field} is owned by {spec.owner!r}, but no flow of"
                                f" domain {name!r} comes from {spec.owner!r}")
