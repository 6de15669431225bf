"""Export specs: how a key column gets its owner and classification (never a default)."""

from __future__ import annotations

from pathlib import Path

import yaml
from export_inputs import HELPDESK

from governance.exports.spec import export_specs
from governance.registry import load_registry

REGISTRY = Path(__file__).parents[3] / "registry"


def test_a_key_is_classified_by_its_domains_key_declaration() -> None:
    (key,) = HELPDESK.key_fields
    assert (key.domain, key.field, key.owner, key.classification) == (
        "customer", "customer_id", "crm", "internal")


def test_a_key_that_is_a_declared_field_carries_its_classification(tmp_path: Path) -> None:
    registry = _registry(tmp_path, key={"email": "contact_email"})
    (key,) = next(s for s in export_specs(registry)
                  if s.export_id == "helpdesk_customers").key_fields
    assert (key.field, key.owner, key.classification) == ("email", "crm", "pii")


def test_an_undeclared_key_stays_unclassified(tmp_path: Path) -> None:
    registry = _registry(tmp_path, key={"customer_ref": "external_id"})
    (key,) = next(s for s in export_specs(registry)
                  if s.export_id == "helpdesk_customers").key_fields
    assert (key.owner, key.classification) == (None, None)


def _registry(tmp_path: Path, **changes: object):
    target = tmp_path / "registry"
    target.mkdir()
    for path in REGISTRY.glob("*.yml"):
        (target / path.name).write_text(path.read_text())
    exports = yaml.safe_load((target / "exports.yml").read_text())
    exports["exports"]["helpdesk_customers"].update(changes)
    (target / "exports.yml").write_text(yaml.safe_dump(exports))
    return load_registry(target)
