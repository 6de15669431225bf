"""Classification: data leaves the warehouse only for systems cleared to hold it."""

from __future__ import annotations

from collections.abc import Iterable

from governance.findings import Severity
from governance.rules import Registry, Violation, rule
from governance.rules.references import export_field

# Ascending sensitivity; a system's clearance is the highest level it may hold.
LEVELS: tuple[str, ...] = ("public", "internal", "confidential", "restricted", "pii")
RANK = {level: i for i, level in enumerate(LEVELS)}


@rule("SG701", Severity.ERROR, "An export sends a field above the target system's clearance")
def export_within_clearance(registry: Registry) -> Iterable[Violation]:
    """An export may not send a field classified above its target system's clearance.

    Levels, least to most sensitive: public < internal < confidential < restricted < pii.
    Why: a reverse-ETL sync copies data into a system with its own users, retention and
    access model; sending personal or confidential data there is a data-protection incident
    even if nobody looks at it.
    Fix: drop the field from the export, send a less sensitive derivative (e.g. a flag
    instead of the amount), or raise the target's `clearance` after its owners and the data
    protection officer agree.
    """
    domains = registry["domains"].data["domains"]
    systems = registry["systems"].data["systems"]
    for name, export in registry["exports"].data["exports"].items():
        target = systems.get(export["target"]["system"])
        if target is None:
            continue
        for target_field, ref in export["fields"].items():
            domain, field = export_field(export, ref)
            spec = domains.get(domain, {}).get("fields", {}).get(field)
            if spec is not None and RANK[spec["classification"]] > RANK[target["clearance"]]:
                yield Violation("exports", ("exports", name, "fields", target_field),
                                f"export {name!r} sends {domain}.{field} ({spec['classification']})"
                                f" to {export['target']['system']!r}, cleared only for"
                                f" {target['clearance']}")
