"""The registry declares what the dbt project needs: keys, typed fields, landing tables."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from governance.findings import Severity
from governance.registry.model import KNOWN_SYSTEM_KINDS, model_of
from governance.rules import Registry, Violation, rule


@rule("SG801", Severity.ERROR, "A domain with landing tables declares no usable business key")
def landed_domains_have_keys(registry: Registry) -> Iterable[Violation]:
    """A domain that a flow lands into declares its business key; a composite key names the
    staged column built from it (`key_name`).

    Why: staging, state, snapshots, drift and the export gate all work per key; without one,
    `syncgov generate` cannot write the domain's models.
    Fix: add `key: {<column>: {classification: ...}}` to the domain, and `key_name` when the
    key has several columns.
    """
    model = model_of(registry)
    landed = {t.domain for t in model.landing_tables}
    for name, domain in model.domains.items():
        if name not in landed:
            continue
        if not domain.key:
            yield Violation("domains", ("domains", name),
                            f"domain {name!r} has landing tables but no `key`")
        elif len(domain.key) > 1 and not domain.key_name:
            yield Violation("domains", ("domains", name, "key"),
                            f"domain {name!r} has a composite key"
                            f" ({', '.join(k.name for k in domain.key)}) but no `key_name`")
        for key in domain.key:
            if key.name in domain.fields:
                yield Violation("domains", ("domains", name, "fields", key.name),
                                f"{name}.{key.name} is declared both as a key column and as a"
                                " field; keep it under `key`")


@rule("SG802", Severity.ERROR, "A landing table carries a field its domain does not declare")
def landing_fields_declared(registry: Registry) -> Iterable[Violation]:
    """Every field a landing table carries, and every column it renames, is a field or key
    column of its domain.

    Why: the domain gives each field its type, enum, owner and classification; a landed
    column that is not declared would be staged untyped and owned by nobody.
    Fix: declare the field in domains.yml, or remove it from the flow's `landing.fields`.
    """
    model = model_of(registry)
    for table in model.landing_tables:
        domain = model.domains.get(table.domain)
        if domain is None:
            continue  # SG402 reports the unknown domain
        for field in table.fields:
            if field not in domain.fields:
                yield Violation("flows", ("flows", table.flow, "landing", "fields"),
                                f"flow {table.flow!r} lands {field!r}, which domain"
                                f" {domain.name!r} does not declare")
        for column in table.columns:
            if domain.column(column) is None:
                yield Violation("flows", ("flows", table.flow, "landing", "columns", column),
                                f"flow {table.flow!r} renames {column!r}, which is neither a"
                                f" field nor a key column of domain {domain.name!r}")


@rule("SG803", Severity.ERROR, "No landing table of a domain comes from its system of record")
def system_of_record_lands(registry: Registry) -> Iterable[Violation]:
    """A domain with landing tables has one from its system of record.

    Why: the entity state is driven by the system of record (its tombstone deletes the
    entity); without its landing table there is nothing to drive it.
    Fix: declare the system of record's flow with a `landing` block, or correct
    `system_of_record`.
    """
    model = model_of(registry)
    for name, domain in model.domains.items():
        tables = model.landing_tables_of(name)
        if tables and not any(t.system == domain.system_of_record for t in tables):
            yield Violation("domains", ("domains", name, "system_of_record"),
                            f"domain {name!r}'s system of record {domain.system_of_record!r}"
                            " sends none of its landing tables")


@rule("SG804", Severity.ERROR, "Two flows declare the same landing table")
def landing_tables_unique(registry: Registry) -> Iterable[Violation]:
    """Each landing table `landing.<system>__<table>` belongs to exactly one flow.

    Why: its batches are reconciled and its events accounted for once; two flows would
    generate two sources and two staging models of one table.
    Fix: give each flow its own table, or merge the flows.
    """
    model = model_of(registry)
    counts = Counter(t.name for t in model.landing_tables)
    for table in model.landing_tables:
        if counts[table.name] > 1:
            yield Violation("flows", ("flows", table.flow, "landing", "table"),
                            f"flow {table.flow!r} declares landing table {table.name}, which"
                            " another flow declares too")


@rule("SG805", Severity.WARNING, "A system's kind is not one syncgov knows")
def system_kind_known(registry: Registry) -> Iterable[Violation]:
    """System kinds are an open vocabulary; an unfamiliar one may be a typo.

    Known kinds: erp, crm, wms, oms, pim, srm, helpdesk, storefront, warehouse, tms,
    procurement, billing, ecommerce, marketing, hr, mes, plm, bi.
    Why: nothing depends on the kind, but a misspelt `crn` reads as a new kind of system.
    Fix: correct the kind, or ignore the warning for a genuinely new kind of system.
    """
    for name, system in model_of(registry).systems.items():
        if system.kind not in KNOWN_SYSTEM_KINDS:
            yield Violation("systems", ("systems", name, "kind"),
                            f"system {name!r} has kind {system.kind!r}, which syncgov does not"
                            " know (allowed, but check the spelling)")


@rule("SG806", Severity.WARNING, "A field of a landed domain is carried by no landing table")
def fields_are_landed(registry: Registry) -> Iterable[Violation]:
    """Every field of a domain with landing tables is carried by at least one of them.

    Why: a declared field no table lands is never in the entity state; exports and contracts
    that name it promise a column that is always missing.
    Fix: add the field to the owning system's `landing.fields`, or remove the declaration.
    """
    model = model_of(registry)
    for name, domain in model.domains.items():
        tables = model.landing_tables_of(name)
        if not tables:
            continue
        carried = {f for t in tables for f in t.fields}
        for field in domain.fields:
            if field not in carried:
                yield Violation("domains", ("domains", name, "fields", field),
                                f"{name}.{field} is carried by none of the domain's landing"
                                " tables")
