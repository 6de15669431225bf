"""Classification: data leaves the warehouse only for systems cleared to hold it."""

from __future__ import annotations

from collections.abc import Iterable

from governance.findings import Severity
from governance.registry.model import LEVELS, RANK, model_of
from governance.rules import Registry, Violation, rule

__all__ = ["LEVELS", "RANK"]


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
    model = model_of(registry)
    for name, export in model.exports.items():
        target = model.systems.get(export.target_system)
        if target is None:
            continue
        for ref in export.fields:
            domain = model.domains.get(ref.domain)
            spec = domain.fields.get(ref.field) if domain else None
            if spec is not None and RANK[spec.classification] > RANK[target.clearance]:
                yield Violation("exports", ("exports", name, "fields", ref.target_field),
                                f"export {name!r} sends {ref.domain}.{ref.field}"
                                f" ({spec.classification}) to {export.target_system!r}, cleared"
                                f" only for {target.clearance}")


@rule("SG702", Severity.ERROR, "An export's key is unclassified or above the target's clearance")
def export_key_within_clearance(registry: Registry) -> Iterable[Violation]:
    """An export's key columns are classified and within the target's clearance, like its fields.

    A key column is classified by the export domain's field of that name or by the domain's
    `key` declaration (`key: {customer_id: {classification: internal}}`); nothing defaults it.
    Why: the key is copied into the target like any field: a personal identifier used as the
    match key (an email, a national id) lands in the target whatever the field mapping says.
    Fix: declare the key's classification in domains.yml, match on a less sensitive key (a
    surrogate id), or raise the target's `clearance` after its owners agree.
    """
    model = model_of(registry)
    for name, export in model.exports.items():
        target = model.systems.get(export.target_system)
        if target is None or export.domain not in model.domains:
            continue  # SG505 reports the unknown target or domain
        for column in export.key:
            domain, _owner, level = export.key_origin(model, column)
            if level is None:
                yield Violation("exports", ("exports", name, "key", column),
                                f"export {name!r} matches on {domain}.{column}, which has no"
                                f" classification: declare it under domains.{domain}.key")
            elif RANK[level] > RANK[target.clearance]:
                yield Violation("exports", ("exports", name, "key", column),
                                f"export {name!r} matches on {domain}.{column} ({level}), sent to"
                                f" {export.target_system!r}, cleared only for"
                                f" {target.clearance}")
