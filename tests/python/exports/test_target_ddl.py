"""Target DDL: the PostgreSQL table an export writes, from the model's enforced contract."""

from __future__ import annotations

import pytest
from export_inputs import HELPDESK, STOREFRONT, manifest

from governance.errors import InputError
from governance.exports.target_ddl import postgres_type, target_table

STOREFRONT_CONTRACT = {
    "sku": {"data_type": "varchar"}, "product_name": {"data_type": "varchar"},
    "category": {"data_type": "varchar"}, "lifecycle_status": {"data_type": "varchar"},
    "list_price": {"data_type": "decimal(18, 2)"}, "currency": {"data_type": "varchar"},
    "quantity_on_hand": {"data_type": "bigint"},
    "_changed_at": {"data_type": "timestamp without time zone"},
}


def test_the_table_has_the_contract_types_and_a_primary_key_on_the_match_key() -> None:
    table = target_table(manifest(STOREFRONT), STOREFRONT_CONTRACT)
    assert table.columns == (
        ("sku", "text"), ("title", "text"), ("category", "text"), ("status", "text"),
        ("price", "numeric(18, 2)"), ("currency", "text"), ("available_quantity", "bigint"),
        ("syncgov_changed_at", "timestamp"))
    assert table.key == ("sku",)
    assert table.ddl.endswith("    constraint product_availability_match_key primary key (sku)\n)")
    assert "    sku text not null,\n" in table.ddl


def test_a_soft_delete_export_gets_its_column() -> None:
    contract = {c: {"data_type": "varchar"} for c in HELPDESK.columns}
    contract["_changed_at"] = {"data_type": "timestamp"}
    table = target_table(manifest(HELPDESK), contract)
    assert table.soft_delete_column == "syncgov_deleted_at"
    assert "    syncgov_deleted_at timestamp,\n" in table.ddl


@pytest.mark.parametrize(("declared", "expected"), [
    ("varchar", "text"), ("DECIMAL(10,4)", "numeric(10, 4)"), ("numeric( 18 , 2 )", "numeric(18, 2)"),
    ("timestamp without time zone", "timestamp"), ("Timestamp  With Time Zone", "timestamptz"),
    ("boolean", "boolean"), ("bigint", "bigint")])
def test_portable_types_translate(declared: str, expected: str) -> None:
    assert postgres_type(declared, "c", "m") == expected


@pytest.mark.parametrize("declared", [None, "", "geography", "decimal"])
def test_an_unknown_or_missing_type_is_an_error_never_a_guess(declared: str | None) -> None:
    with pytest.raises(InputError, match=r"m\.c"):
        postgres_type(declared, "c", "m")


def test_a_name_that_is_not_a_plain_identifier_is_refused() -> None:
    document = manifest(STOREFRONT)
    document["destination"]["object"] = 'x"; drop table y; --'
    with pytest.raises(InputError, match="not a plain lowercase identifier"):
        target_table(document, STOREFRONT_CONTRACT)
