"""A fast yes-check for the registry's JSON Schemas; jsonschema stays the judge.

jsonschema builds a validator object for every node it descends into, which made schema
validation the largest cost of linting a 5,000-domain registry. The registry schemas use a
small set of keywords, so they compile here into plain closures that answer one question:
is this document certainly valid? Only "yes" is trusted. For "no" (or a schema using any
other keyword) the loader runs jsonschema, whose errors are the ones reported. A property
test checks that every document this module accepts, jsonschema accepts too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

# Keywords without effect on validity (jsonschema checks `format` only with a format checker).
_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description",
                          "default", "examples", "format"})
_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


class Unsupported(Exception):
    """The schema uses a keyword this module does not compile."""


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _compile(schema: Any, root: dict) -> Check:
    if schema is True:
        return lambda _: True
    if not isinstance(schema, dict) or schema is False:
        raise Unsupported(repr(schema))
    checks: list[Check] = []
    unknown = set(schema) - _ANNOTATIONS - {
        "$ref", "type", "enum", "required", "properties", "additionalProperties",
        "propertyNames", "minProperties", "minItems", "items", "uniqueItems", "pattern", "minLength",
        "minimum", "maximum", "exclusiveMinimum"}
    if unknown:
        raise Unsupported(", ".join(sorted(unknown)))
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/$defs/"):
            raise Unsupported(ref)
        checks.append(_compile(root["$defs"][ref.removeprefix("#/$defs/")], root))
    if "type" in schema:
        if not isinstance(schema["type"], str):
            raise Unsupported("type list")
        checks.append(_TYPES[schema["type"]])
    if "enum" in schema:
        if not all(isinstance(e, str) for e in schema["enum"]):
            raise Unsupported("non-string enum")
        allowed = frozenset(schema["enum"])
        checks.append(lambda v: isinstance(v, str) and v in allowed)
    if "required" in schema:
        required = tuple(schema["required"])
        checks.append(lambda v: not isinstance(v, dict) or all(k in v for k in required))
    if "properties" in schema or "additionalProperties" in schema:
        props = {k: _compile(s, root) for k, s in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties", True)
        other: Check | None = None if extra is False else _compile(extra, root)

        def properties(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for key, value in v.items():
                check = props.get(key, other)
                if check is None or not check(value):
                    return False
            return True

        checks.append(properties)
    if "propertyNames" in schema:
        names = schema["propertyNames"]
        if set(names) != {"pattern"}:
            raise Unsupported("propertyNames")
        name_pattern = re.compile(names["pattern"])
        checks.append(lambda v: not isinstance(v, dict) or all(
            not isinstance(k, str) or name_pattern.search(k) for k in v))
    if "minProperties" in schema:
        least = schema["minProperties"]
        checks.append(lambda v: not isinstance(v, dict) or len(v) >= least)
    if "minItems" in schema:
        fewest = schema["minItems"]
        checks.append(lambda v: not isinstance(v, list) or len(v) >= fewest)
    if "items" in schema:
        item = _compile(schema["items"], root)
        checks.append(lambda v: not isinstance(v, list) or all(item(x) for x in v))
    if schema.get("uniqueItems"):
        # only lists of strings are decided here; anything else goes to jsonschema
        checks.append(lambda v: not isinstance(v, list) or (
            all(isinstance(x, str) for x in v) and len(set(v)) == len(v)))
    if "pattern" in schema:
        pattern = re.compile(schema["pattern"])
        checks.append(lambda v: not isinstance(v, str) or pattern.search(v) is not None)
    if "minLength" in schema:
        shortest = schema["minLength"]
        checks.append(lambda v: not isinstance(v, str) or len(v) >= shortest)
    for keyword, holds in (("minimum", lambda v, b: v >= b), ("maximum", lambda v, b: v <= b),
                           ("exclusiveMinimum", lambda v, b: v > b)):
        if keyword in schema:
            bound = schema[keyword]
            checks.append(lambda v, b=bound, h=holds: not _is_number(v) or h(v, b))
    if len(checks) == 1:
        return checks[0]
    return lambda v: all(check(v) for check in checks)


def compile_schema(schema: dict) -> Check | None:
    """A function that is True only for instances certainly valid against `schema`; None
    when the schema uses a keyword this module does not know (then always ask jsonschema)."""
    try:
        return _compile(schema, schema)
    except Unsupported:
        return None
