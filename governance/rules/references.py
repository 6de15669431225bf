"""References: every id a declaration names exists, and nothing declared is left unused."""

from __future__ import annotations

from collections.abc import Iterable

from governance.findings import Severity
from governance.registry.model import model_of
from governance.rules import Registry, Violation, rule


@rule("SG501", Severity.ERROR, "A domain names a system that is not declared")
def domain_systems_exist(registry: Registry) -> Iterable[Violation]:
    """Systems of record and field owners must be systems declared in systems.yml.

    Each field has exactly one owning system by construction (`owner` is a single id and
    duplicate field keys are rejected when loading); this rule makes sure that id is real.
    Why: a typo in a system id silently moves ownership to a system that does not exist, and
    survivorship and conflict checks would then never pick the real owner.
    Fix: correct the id, or declare the system in registry/systems.yml.
    """
    model = model_of(registry)
    for name, domain in model.domains.items():
        if domain.system_of_record not in model.systems:
            yield Violation("domains", ("domains", name, "system_of_record"),
                            f"system of record {domain.system_of_record!r} of domain {name!r}"
                            " is not declared in systems.yml")
        for field, spec in domain.fields.items():
            if spec.owner not in model.systems:
                yield Violation("domains", ("domains", name, "fields", field, "owner"),
                                f"owner {spec.owner!r} of {name}.{field} is not declared in"
                                " systems.yml")


@rule("SG505", Severity.ERROR, "An export names an undeclared domain, system or field")
def export_references_exist(registry: Registry) -> Iterable[Violation]:
    """An export's domain, target system and every field it maps must be declared.

    Why: the classification and write-back rules, and the export gate, look each mapped field
    up in its domain; a field that is not declared has no owner and no classification, so
    nothing would stop it from leaking or looping back.
    Fix: correct the id, map `domain.field` for a field of another domain, or declare the
    field (with owner and classification) in domains.yml.
    """
    model = model_of(registry)
    for name, export in model.exports.items():
        if export.domain not in model.domains:
            yield Violation("exports", ("exports", name, "domain"),
                            f"export {name!r} names undeclared domain {export.domain!r}")
        if export.target_system not in model.systems:
            yield Violation("exports", ("exports", name, "target", "system"),
                            f"export {name!r} writes into undeclared system"
                            f" {export.target_system!r}")
        for ref in export.fields:
            domain = model.domains.get(ref.domain)
            if domain is not None and ref.field not in domain.fields:
                yield Violation("exports", ("exports", name, "fields", ref.target_field),
                                f"export {name!r} maps {ref.target_field!r} to {ref.qualified},"
                                f" which domain {ref.domain!r} does not declare")
            elif domain is None and ref.domain != export.domain:
                # a field of the export's own undeclared domain is reported once, above;
                # a mapping naming another domain was written `domain.field`
                yield Violation("exports", ("exports", name, "fields", ref.target_field),
                                f"export {name!r} maps {ref.target_field!r} to"
                                f" {ref.qualified!r}: no domain {ref.domain!r}")


@rule("SG503", Severity.WARNING, "A team owns nothing")
def no_orphan_teams(registry: Registry) -> Iterable[Violation]:
    """Every declared team owns at least one domain, system or export.

    Why: orphan teams are usually leftovers of a reorganisation; they receive nothing but
    still look like valid owners to a reviewer.
    Fix: remove the team or give it what it is meant to own.
    """
    model = model_of(registry)
    owning: set[str] = set()
    for owned in (model.domains, model.systems, model.exports):
        for item in owned.values():
            owning |= {item.owners.technical, item.owners.business}
            if item.owners.steward is not None:
                owning.add(item.owners.steward)
    for name in model.teams:
        if name not in owning:
            yield Violation("teams", ("teams", name),
                            f"team {name!r} owns no domain, system or export")


@rule("SG504", Severity.WARNING, "A system takes part in no domain, flow or export")
def no_orphan_systems(registry: Registry) -> Iterable[Violation]:
    """Every declared system owns a field, is a system of record, or is an end of a flow or
    the target of an export.

    Why: a system nothing refers to is either retired (and should go, with its owners'
    obligations) or connected without a declaration, which is exactly the undocumented
    sync this registry exists to prevent.
    Fix: declare the flow or export that involves the system, or remove the system.
    """
    model = model_of(registry)
    used: set[str] = set()
    for domain in model.domains.values():
        used.add(domain.system_of_record)
        used |= {spec.owner for spec in domain.fields.values()}
    for flow in model.flows.values():
        used |= {flow.source, flow.target}
    used |= {e.target_system for e in model.exports.values()}
    for name in model.systems:
        if name not in used:
            yield Violation("systems", ("systems", name),
                            f"system {name!r} is not a field owner, system of record, flow end or"
                            " export target")
