"""Key paths into parsed YAML documents, for property tests that mutate one node at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def key_paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every path into `node` (the empty path first): mapping keys and list indexes."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from key_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from key_paths(value, (*prefix, i))
