"""The fast schema check may only say "valid" when jsonschema agrees (jsonschema is the oracle)."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.registry import load_registry
from governance.registry.fast_schema import compile_schema
from governance.registry.loader import KINDS, schema
from tests.yaml_paths import key_paths

REPO = Path(__file__).resolve().parents[3]
# loaded as the linter loads them: dates stay strings
VALID = {k: f.data for k, f in load_registry(REPO / "tests" / "fixtures" / "registry" / "valid").items()}
DEMO = {k: f.data for k, f in load_registry(REPO / "registry").items()}

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5000), st.floats(-1, 2),
                    st.text(max_size=8), st.sampled_from(
                        ["tier_1", "pii", "crm", "upsert", "one_way", "cdc", "2026-01-01",
                         "source.syncgov.crm.accounts", "Bad Name", "a@b", ""]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8)


# a value of the same type: mostly valid documents, some failing a pattern, enum or bound
SAME_TYPE = {
    str: st.one_of(st.sampled_from(["tier_1", "tier_9", "pii", "secret", "crm", "upsert",
                                    "one_way", "kafka", "*/5 * * * *", "2026-01-01", "x y",
                                    "a@b.c", "", "Platform", "source.syncgov.crm.accounts"]),
                   st.text(max_size=6)),
    int: st.integers(-2, 5000),
    float: st.floats(-1, 2),
    bool: st.booleans(),
}


def _agree(kind: str, document) -> None:
    fast = compile_schema(schema(kind))
    assert fast is not None, f"{kind}: the schema uses a keyword the fast check does not know"
    if fast(document):
        errors = list(jsonschema.Draft202012Validator(schema(kind)).iter_errors(document))
        assert errors == [], (kind, document)


@pytest.mark.parametrize("kind", KINDS)
def test_every_registry_schema_compiles_and_accepts_the_demo(kind: str) -> None:
    fast = compile_schema(schema(kind))
    assert fast is not None
    assert fast(DEMO[kind]) is True


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_accepted_mutants_are_valid_for_jsonschema(data) -> None:
    source = data.draw(st.sampled_from([VALID, DEMO]))
    kind = data.draw(st.sampled_from(sorted(source)))
    document = copy.deepcopy(source[kind])
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(list(key_paths(document))[1:]))
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        action = data.draw(st.sampled_from(["same_type", "same_type", "any", "delete", "add"]))
        old = parent[path[-1]]
        if action == "same_type" and isinstance(old, str):
            parent[path[-1]] = data.draw(SAME_TYPE[str])
        elif action == "same_type" and isinstance(old, bool | int | float):
            parent[path[-1]] = data.draw(SAME_TYPE[type(old)])
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(st.sampled_from(["x", "description", "owner", "cadence"]))] = \
                data.draw(values)
        else:
            parent[path[-1]] = data.draw(values)
        if not isinstance(document, dict) or not document:
            break
    _agree(kind, document)


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(KINDS), document=values)
def test_accepted_random_documents_are_valid_for_jsonschema(kind: str, document) -> None:
    _agree(kind, document)


def test_unknown_keywords_fall_back_to_jsonschema() -> None:
    assert compile_schema({"type": "object", "patternProperties": {"^x": {}}}) is None
    assert compile_schema({"oneOf": [{"type": "string"}]}) is None
    check = compile_schema({"type": "integer", "minimum": 1})
    assert check is not None
    assert [check(v) for v in (1, 1.0, 0, True, "1")] == [True, True, False, False, False]
