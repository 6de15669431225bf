"""The typed registry model: parsed once, immutable, every node located."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from governance.errors import InputError, UsageError
from governance.registry.model import load_model, parse_field_ref
from governance.scaffold import DomainSpec, FieldSpec, new_domain, parse_enum, parse_field

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def model():
    return load_model(REPO / "registry")


def test_nodes_are_typed_immutable_and_located(model) -> None:
    customer = model.domains["customer"]
    assert customer.fields["credit_limit"].type == "money"
    assert customer.fields["segment"].enum == ("enterprise", "mid_market", "smb")
    with pytest.raises(dataclasses.FrozenInstanceError):
        customer.slo_minutes = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        customer.fields["x"] = customer.fields["segment"]  # type: ignore[index]
    lines = (REPO / "registry" / "domains.yml").read_text().splitlines()
    where = customer.fields["credit_limit"].where
    assert where.file.name == "domains.yml"
    assert lines[where.line - 1].strip().startswith("credit_limit:")


def test_a_composite_key_and_derived_dbt_nodes(model) -> None:
    inventory = model.domains["inventory"]
    assert [k.name for k in inventory.key] == ["sku", "site_id"]
    assert inventory.key_column == "inventory_id"
    assert inventory.key_expression == "sku || ':' || site_id"
    flow = model.flows["wms_inventory_movements_to_warehouse"]
    assert flow.declared_nodes is None
    assert flow.dbt_nodes == (
        "source.syncgov.wms.inventory_movements", "model.syncgov.stg_wms__inventory_movements",
        "model.syncgov.state_wms__inventory_movements", "model.syncgov.inventory_state")
    crm = model.flows["crm_accounts_to_warehouse"].landing
    assert crm.landed("customer_id") == "account_id"
    assert crm.landed("email") == "email"


def test_the_slo_of_a_flow_is_its_own_else_its_domains(model) -> None:
    assert model.flow_slo_minutes(model.flows["erp_invoices_to_warehouse"]) == 1500


def test_field_references_and_export_keys(model) -> None:
    assert parse_field_ref("inventory.quantity_on_hand", "product") == (
        "inventory", "quantity_on_hand")
    assert parse_field_ref("list_price", "product") == ("product", "list_price")
    export = model.exports["helpdesk_customers"]
    assert export.key_origin(model, "customer_id") == ("customer", "crm", "internal")
    assert export.key_origin(model, "nope") == ("customer", None, None)


def test_no_module_imports_a_rule_module_for_a_helper() -> None:
    offenders = []
    for path in (REPO / "governance").rglob("*.py"):
        if "rules" in path.parts or path.name == "lint.py":
            continue
        text = path.read_text()
        for name in ("references", "review", "cadence", "classification", "direction",
                     "ownership", "dbt_consistency", "declarations"):
            if f"governance.rules.{name}" in text or f"from governance.rules import {name}" in text:
                offenders.append(f"{path.relative_to(REPO)} imports rules.{name}")
    assert offenders == []


# `syncgov new domain`


def _spec(**kw) -> DomainSpec:
    base = {"name": "shipment", "system": "tms", "kind": "tms", "table": "shipments",
            "key": ("shipment_id",), "fields": (FieldSpec("carrier"),),
            "technical_team": "data-platform", "business_team": "fulfilment"}
    return DomainSpec(**{**base, **kw})


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "registry", tmp_path / "registry")
    return tmp_path / "registry"


def test_new_domain_writes_a_valid_registry(registry: Path) -> None:
    added = new_domain(registry, _spec(fields=(FieldSpec("carrier"),
                                               FieldSpec("shipped_at", "timestamp"))))
    assert len(added) == 3
    model = load_model(registry)
    assert model.domains["shipment"].fields["shipped_at"].type == "timestamp"
    assert model.systems["tms"].kind == "tms"
    assert model.flows["tms_shipments_to_warehouse"].landing.fields == ("carrier", "shipped_at")


@pytest.mark.parametrize(("kw", "message"), [
    ({"name": "evil\n"}, "domain 'evil\\\\n'"),
    ({"table": "x; drop table y"}, "--table"),
    ({"name": "customer"}, "already exists"),
    ({"business_team": "nobody"}, "team 'nobody' is not declared"),
    ({"kind": None}, "system 'tms' is new"),
    ({"key": ("a", "b")}, "composite --key needs --key-name"),
    ({"fields": ()}, "at least one --field"),
])
def test_new_domain_refuses_bad_input_and_changes_nothing(registry: Path, kw, message) -> None:
    before = {p.name: p.read_text() for p in registry.iterdir()}
    with pytest.raises(UsageError, match=message):
        new_domain(registry, _spec(**kw))
    assert {p.name: p.read_text() for p in registry.iterdir()} == before


def test_new_domain_restores_the_files_when_the_result_is_invalid(registry: Path) -> None:
    before = {p.name: p.read_text() for p in registry.iterdir()}
    with pytest.raises(InputError):
        new_domain(registry, _spec(cadence=""))  # the schema requires a cadence
    assert {p.name: p.read_text() for p in registry.iterdir()} == before


def test_field_and_enum_arguments() -> None:
    assert parse_field("shipped_at:timestamp", {}) == FieldSpec("shipped_at", "timestamp")
    with pytest.raises(UsageError, match="type must be one of"):
        parse_field("x:float", {})
    assert parse_enum("status=booked|in_transit") == ("status", ("booked", "in_transit"))
    with pytest.raises(UsageError, match="values may hold"):
        parse_enum("status=a'|b")
