"""The simulator's catalog declares what the staging models validate, or its truth would lie."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from governance.registry.model import load_model
from governance.simulate.catalog import LANDING_TABLES, LandingTable, tables_for

MODELS = Path(__file__).resolve().parents[3] / "models" / "staging"


def _stage_events_arguments(table: LandingTable) -> dict:
    """The keyword arguments of the model's `stage_events(...)` call, as Python literals."""
    text = (MODELS / table.system / f"stg_{table.system}__{table.entity}.sql").read_text()
    call = text[text.index("stage_events(") : text.rindex(")") + 1]
    tree = ast.parse(call.replace("stage_events(", "f(", 1), mode="eval")
    assert isinstance(tree.body, ast.Call)
    return {kw.arg: ast.literal_eval(kw.value) for kw in tree.body.keywords}


@pytest.mark.parametrize("table", LANDING_TABLES, ids=lambda t: t.name)
def test_catalog_matches_the_staging_model(table: LandingTable) -> None:
    args = _stage_events_arguments(table)
    columns = {source: kind for source, _name, kind in args["columns"]}
    assert set(columns) == set(table.columns)
    assert {c: k for c, k in columns.items() if k != "string"} == table.column_types
    assert {c: tuple(v) for c, v in args.get("enums", {}).items()} == table.enums
    assert args.get("non_negative", []) == ([table.quantity_column] if table.quantity_column else [])


def test_the_demo_registry_declares_exactly_the_tuned_tables() -> None:
    """The simulator's tuned tables are no second catalogue: the shipped registry declares each
    with the same key, columns, types and enums (else `tables_for` would fall back to generic
    values and the demo would lose its story)."""
    tables = tables_for(load_model(Path(__file__).resolve().parents[3] / "registry"))
    assert [t.name for t in tables] == [t.name for t in LANDING_TABLES]
    assert all(a is b for a, b in zip(tables, LANDING_TABLES, strict=True))


def test_a_table_declared_differently_gets_values_from_its_declaration(tmp_path: Path) -> None:
    """When the registry's enum of a tuned table changes, its values follow the registry."""
    registry = tmp_path / "registry"
    shutil.copytree(Path(__file__).resolve().parents[3] / "registry", registry)
    domains = registry / "domains.yml"
    domains.write_text(domains.read_text().replace(
        "enum: [enterprise, mid_market, smb]", "enum: [enterprise, smb, micro]"))
    tables = {t.name: t for t in tables_for(load_model(registry))}
    crm = tables["crm__accounts"]
    assert crm not in LANDING_TABLES
    assert crm.enums["segment"] == ("enterprise", "smb", "micro")
    assert "'micro'" in crm.payload["segment"]
    assert tables["erp__customers"] in LANDING_TABLES
