"""Load registry YAML safely, keep the line of every key, and validate against the schemas.

Plain PyYAML silently keeps the last of two equal keys and turns dates into objects; here a
duplicate key is an error naming both lines, scalars stay as written (dates are strings the
schema checks), and nothing but plain data is ever constructed.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import yaml

from governance.errors import InputError
from governance.registry.fast_schema import Check, compile_schema

# A registry document may use anchors and merge keys, but not to expand into a "billion
# laughs": the expanded tree is capped (a 5,000-domain registry is ~200,000 nodes).
MAX_EXPANDED_NODES = 2_000_000
MERGE_TAG = "tag:yaml.org,2002:merge"
STR_TAG = "tag:yaml.org,2002:str"
# Without an anchor there is no alias to expand (a false positive only costs the check).
_ANCHOR = re.compile(r"(?:^|[\s\[{,:-])&[^\s\[\]{},]")
# file name (without .yml), which is also the name of the JSON Schema it must satisfy
KINDS: tuple[str, ...] = ("policy", "teams", "systems", "domains", "flows", "exports")
# A company without reverse ETL has no exports.yml; it reads as an empty mapping.
OPTIONAL: frozenset[str] = frozenset({"exports"})
MAX_REPORTED = 10
# The largest registry file read (a 5,000-domain registry is a few MiB).
MAX_FILE_BYTES = 64 * 2**20


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

    # Registries repeat the same plain scalars (system ids, tiers, `true`) thousands of times;
    # resolving each one through the regexps dominated loading. No path resolvers are
    # registered, so a plain scalar's tag depends on its text alone.
    _tags: ClassVar[dict[str, str]] = {}

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            tag = self._tags.get(value)
            if tag is None:
                tag = self._tags[value] = super().resolve(kind, value, implicit)
            return tag
        return super().resolve(kind, value, implicit)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct(loader: _Loader, node: yaml.Node) -> Any:
    # most nodes are plain strings: skip the generic constructor's bookkeeping for them
    if node.__class__ is yaml.ScalarNode and node.tag == STR_TAG:
        return node.value
    return loader.construct_object(node, deep=True)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    explicit = sum(k.tag != MERGE_TAG for k, _ in node.value)
    loader.flatten_mapping(node)
    # flatten_mapping puts merged (`<<: *defaults`) pairs first: those may be overridden by
    # the mapping's own keys, which may not repeat each other.
    inherited = len(node.value) - explicit
    mapping = Located()
    mapping.line = node.start_mark.line + 1
    mapping.lines = {}
    own: set[str] = set()
    for index, (key_node, value_node) in enumerate(node.value):
        key = _construct(loader, key_node)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str):
            # ids are strings; YAML would turn `1:`, `yes:` or `null:` into other types
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is not a string (quote it)", key_node.start_mark
            )
        if index >= inherited:
            if key in own:
                raise yaml.constructor.ConstructorError(
                    "while reading the mapping", node.start_mark,
                    f"duplicate key {key!r} (first at line {mapping.lines[key]})",
                    key_node.start_mark,
                )
            own.add(key)
        mapping[key] = _construct(loader, value_node)
        mapping.lines[key] = line
    return mapping


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LocatedList:
    items = LocatedList(_construct(loader, child) for child in node.value)
    items.lines = [child.start_mark.line + 1 for child in node.value]
    return items


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _expanded_size(root: yaml.Node) -> tuple[int, yaml.Node | None]:
    """Nodes in the tree once aliases are expanded, and the first node beyond the cap (or a
    node that contains itself). Iterative, so depth is no problem."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        children = ([n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode)
                    else list(node.value))
        if children_done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_EXPANDED_NODES:
                return sizes[key], node
            continue
        if key in on_path:
            return -1, node
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                return -1, child
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)], None


def _parse(text: str) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size, culprit = _expanded_size(node) if _ANCHOR.search(text) else (0, None)
        if culprit is not None:
            problem = ("contains itself through an alias" if size < 0 else
                       f"expands to more than {MAX_EXPANDED_NODES:,} nodes through aliases")
            raise yaml.composer.ComposerError(None, None, problem, culprit.start_mark)
        return loader.construct_document(node)
    finally:
        loader.dispose()


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building large acyclic data.

    Loading a 5,000-domain registry creates ~400,000 containers; the collector's repeated
    full passes over them took half of the lint's time. Nothing built here forms a cycle
    (self-referencing aliases are rejected), so reference counting frees it all.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
    """The JSON Schema of a registry file kind, with its patterns anchored as in ECMA-262.

    The schema files are written for editors (ECMA-262 regular expressions, where `$` matches
    only at the very end); Python's `$` also matches before a trailing newline, so an id
    `"evil\\n"` would pass `^[a-z]+$` and reach file names. Here every pattern ending in `$` ends
    in `\\Z` instead.
    """
    text = resources.files("governance.schemas").joinpath(f"{kind}.schema.json").read_text()
    return _anchor_patterns(json.loads(text))


def _anchor_patterns(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (_end_anchor(v) if k == "pattern" and isinstance(v, str) else _anchor_patterns(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_anchor_patterns(v) for v in node]
    return node


def _end_anchor(pattern: str) -> str:
    if not pattern.endswith("$"):
        return pattern
    body = pattern[:-1]
    backslashes = len(body) - len(body.rstrip("\\"))
    return pattern if backslashes % 2 else body + "\\Z"  # an escaped `\$` is a literal


@cache
def _validator(kind: str) -> jsonschema.Draft202012Validator:
    # Schemas are inlined (no $ref per domain): resolving a reference per entry dominated
    # validation time on large registries.
    return jsonschema.Draft202012Validator(schema(kind))


@cache
def _fast_check(kind: str) -> Check | None:
    return compile_schema(schema(kind))


def _read_text(path: Path) -> str:
    """A registry file's text: a regular file of bounded size, in UTF-8, or a located error."""
    try:
        if not path.is_file():  # a FIFO or a device such as /dev/zero would hang or never end
            raise InputError(f"{path}: not a regular file")
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB; not a registry file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{path}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x} at offset"
                         f" {exc.start}); save the file as UTF-8") from None


def load_file(path: Path, kind: str) -> RegistryFile:
    text = _read_text(path)
    try:
        data = _parse(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        context = ""
        if exc.context and exc.context_mark and (not mark or exc.context_mark.line != mark.line):
            context = f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise InputError(f"{where}: invalid YAML: {exc.problem}{context}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {exc}") from None
    except RecursionError:
        raise InputError(f"{path}: invalid YAML: nested too deeply") from None
    if not isinstance(data, Located):
        raise InputError(f"{path}:1: expected a mapping with a top-level `{kind}:` key")
    file = RegistryFile(kind, path, data)
    fast = _fast_check(kind)
    if fast is not None and fast(data):
        return file  # certainly valid: jsonschema would report nothing (a tested property)
    validator = _validator(kind)
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
    with paused_gc():
        return _load_registry(directory)


def _load_registry(directory: Path) -> dict[str, RegistryFile]:
    if not directory.is_dir():
        raise InputError(f"{directory}: registry directory not found")
    files: dict[str, RegistryFile] = {}
    for path in sorted(directory.glob("*.y*ml")):
        kind = path.stem
        if kind not in KINDS:
            raise InputError(f"{path}: unknown registry file; expected one of "
                             + ", ".join(f"{k}.yml" for k in KINDS))
        if kind in files:
            raise InputError(f"{path}: a second {kind} file beside {files[kind].path};"
                             " keep one of them")
        files[kind] = load_file(path, kind)
    for kind in OPTIONAL - files.keys():
        empty = Located({kind: Located()})
        empty.line, empty.lines = 1, {}
        empty[kind].line, empty[kind].lines = 1, {}
        files[kind] = RegistryFile(kind, directory / f"{kind}.yml", empty)
    missing = [k for k in KINDS if k not in files]
    if missing:
        raise InputError(f"{directory}: missing " + ", ".join(f"{k}.yml" for k in missing))
    return files
