"""Load registry YAML safely, keep the line of every key, and validate against the schemas.

Plain PyYAML silently keeps the last of two equal keys and turns dates into objects; here a
duplicate key is an error naming both lines, scalars stay as written (dates are strings the
schema checks), and nothing but plain data is ever constructed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from governance.errors import InputError

# file name (without .yml) -> the JSON Schema it must satisfy
KINDS: tuple[str, ...] = ("policy", "teams", "systems", "domains", "flows")
MAX_REPORTED = 10


class Located(dict):
    """A mapping that remembers the line of itself and of each key (1-based)."""

    line: int = 0
    lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.lines.get(key, self.line)


class LocatedList(list):
    """A sequence that remembers the line of each item (1-based)."""

    lines: list[int]


# libyaml's scanner is ~10x faster (the 5,000-domain benchmark); both keep node marks.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """SafeLoader without implicit timestamps, with located mappings and no duplicate keys."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    mapping = Located()
    mapping.line = node.start_mark.line + 1
    mapping.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            duplicate = key in mapping
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, f"unhashable key {key!r}", key_node.start_mark
            ) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(
                f"while reading the mapping at line {mapping.line}", node.start_mark,
                f"duplicate key {key!r} (first at line {mapping.lines[key]})", key_node.start_mark,
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = line
    return mapping


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LocatedList:
    items = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    items.lines = [child.start_mark.line + 1 for child in node.value]
    return items


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


@dataclass(frozen=True)
class RegistryFile:
    kind: str
    path: Path
    data: Located

    def line_at(self, path: tuple[Any, ...]) -> int:
        """The line of the deepest node of `path` (a key path into the document)."""
        node: Any = self.data
        line = self.data.line
        for part in path:
            if isinstance(node, Located) and part in node:
                line = node.line_of(part)
                node = node[part]
            elif isinstance(node, LocatedList) and isinstance(part, int) and part < len(node):
                line = node.lines[part]
                node = node[part]
            else:
                break
        return line


@cache
def schema(kind: str) -> dict:
    text = resources.files("governance.schemas").joinpath(f"{kind}.schema.json").read_text()
    return json.loads(text)


def load_file(path: Path, kind: str) -> RegistryFile:
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        context = ""
        if exc.context and exc.context_mark and (not mark or exc.context_mark.line != mark.line):
            context = f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise InputError(f"{where}: invalid YAML: {exc.problem}{context}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, Located):
        raise InputError(f"{path}:1: expected a mapping with a top-level `{kind}:` key")
    file = RegistryFile(kind, path, data)
    validator = jsonschema.Draft202012Validator(schema(kind))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        shown = [
            f"{path}:{file.line_at(tuple(e.absolute_path))}: "
            f"{'.'.join(str(p) for p in e.absolute_path) or kind}: {e.message} [schema {kind}]"
            for e in errors[:MAX_REPORTED]
        ]
        if len(errors) > MAX_REPORTED:
            shown.append(f"… and {len(errors) - MAX_REPORTED} more")
        raise InputError("\n".join(shown))
    return file


def load_registry(directory: Path) -> dict[str, RegistryFile]:
    """Every known registry file of `directory`, validated; unknown .yml files are an error."""
    if not directory.is_dir():
        raise InputError(f"{directory}: registry directory not found")
    files: dict[str, RegistryFile] = {}
    for path in sorted(directory.glob("*.y*ml")):
        kind = path.stem
        if kind not in KINDS:
            raise InputError(f"{path}: unknown registry file; expected one of "
                             + ", ".join(f"{k}.yml" for k in KINDS))
        files[kind] = load_file(path, kind)
    missing = [k for k in KINDS if k not in files]
    if missing:
        raise InputError(f"{directory}: missing " + ", ".join(f"{k}.yml" for k in missing))
    return files
