"""Reading the gates' verdicts: reasons as recorded, and the domains an export depends on."""

from __future__ import annotations

import pytest

from governance.control_tables import parse_reasons
from governance.export_verdicts import export_domains


@pytest.mark.parametrize(("raw", "expected"), [
    (None, ()),
    ("", ()),
    ("[]", ()),
    ('[{"check": "fresh", "observed": 82, "threshold": 60, "message": "late"}]',
     ({"check": "fresh", "observed": 82, "threshold": 60, "message": "late"},)),
    ('{"check": "one"}', ({"check": "one"},)),
    ("not json", ({"check": "unparsed", "message": "not json"},)),
    ('["text"]', ({"check": "unparsed", "message": "text"},)),
    ("42", ({"check": "unparsed", "message": "42"},)),
])
def test_reasons_are_kept_whatever_their_shape(raw, expected) -> None:
    assert parse_reasons(raw) == expected


def test_an_export_depends_on_every_domain_its_fields_read() -> None:
    export = {"domain": "product", "fields": {"title": "product_name",
                                              "qty": "inventory.quantity_on_hand",
                                              "again": "inventory.sku", "x": "order.total"}}
    assert export_domains(export) == ("product", "inventory", "order")
