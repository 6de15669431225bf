"""References: every id a declaration names exists, and nothing declared is left unused."""

from __future__ import annotations

from collections.abc import Iterable

from governance.findings import Severity
from governance.registry.model import parse_field_ref
from governance.rules import Registry, Violation, rule


def _items(registry: Registry, kind: str) -> dict:
    return registry[kind].data[kind]


@rule("SG501", Severity.ERROR, "A domain names a system that is not declared")
def domain_systems_exist(registry: Registry) -> Iterable[Violation]:
    """Systems of record and field owners must be systems declared in systems.yml.

    Each field has exactly one owning system by construction (`owner` is a single id and
    duplicate field keys are rejected when loading); this rule makes sure that id is real.
    Why: a typo in a system id silently moves ownership to a system that does not exist, and
    survivorship and conflict checks would then never pick the real owner.
    Fix: correct the id, or declare the system in registry/systems.yml.
    """
    systems = _items(registry, "systems")
    for name, domain in _items(registry, "domains").items():
        if domain["system_of_record"] not in systems:
            yield Violation("domains", ("domains", name, "system_of_record"),
                            f"system of record {domain['system_of_record']!r} of domain {name!r}"
                            " is not declared in systems.yml")
        for field, spec in domain["fields"].items():
            if spec["owner"] not in systems:
                yield Violation("domains", ("domains", name, "fields", field, "owner"),
                                f"owner {spec['owner']!r} of {name}.{field} is not declared in"
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
    domains = _items(registry, "domains")
    systems = _items(registry, "systems")
    for name, export in _items(registry, "exports").items():
        if export["domain"] not in domains:
            yield Violation("exports", ("exports", name, "domain"),
                            f"export {name!r} names undeclared domain {export['domain']!r}")
        if export["target"]["system"] not in systems:
            yield Violation("exports", ("exports", name, "target", "system"),
                            f"export {name!r} writes into undeclared system"
                            f" {export['target']['system']!r}")
        for target_field, ref in export["fields"].items():
            domain, field = parse_field_ref(ref, export["domain"])
            if domain in domains and field not in domains[domain]["fields"]:
                yield Violation("exports", ("exports", name, "fields", target_field),
                                f"export {name!r} maps {target_field!r} to {domain}.{field},"
                                f" which domain {domain!r} does not declare")
            elif domain not in domains and domain != export["domain"]:
                yield Violation("exports", ("exports", name, "fields", target_field),
                                f"export {name!r} maps {target_field!r} to {ref!r}: no domain"
                                f" {domain!r}")


@rule("SG503", Severity.WARNING, "A team owns nothing")
def no_orphan_teams(registry: Registry) -> Iterable[Violation]:
    """Every declared team owns at least one domain, system or export.

    Why: orphan teams are usually leftovers of a reorganisation; they receive nothing but
    still look like valid owners to a reviewer.
    Fix: remove the team or give it what it is meant to own.
    """
    owning: set[str] = set()
    for kind in ("domains", "systems", "exports"):
        for item in _items(registry, kind).values():
            owning |= set(item["owners"].values())
    for name in _items(registry, "teams"):
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
    used: set[str] = set()
    for domain in _items(registry, "domains").values():
        used.add(domain["system_of_record"])
        used |= {spec["owner"] for spec in domain["fields"].values()}
    for flow in _items(registry, "flows").values():
        used |= {flow["from"], flow["to"]}
    used |= {e["target"]["system"] for e in _items(registry, "exports").values()}
    for name in _items(registry, "systems"):
        if name not in used:
            yield Violation("systems", ("systems", name),
                            f"system {name!r} is not a field owner, system of record, flow end or"
                            " export target")
