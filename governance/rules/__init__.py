"""The lint rules, as data: each rule has a stable id, a severity, a summary and a docstring.

A rule is a function `(Registry) -> Iterable[Violation]` decorated with `@rule(...)`; its
docstring explains why the rule exists and how to fix a finding (`syncgov explain ID`).
Importing the rule modules registers them, in id order.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from governance.findings import Severity
from governance.registry import RegistryFile


@dataclass(frozen=True)
class Violation:
    """What a rule found: the file kind, the key path of the offending node, a message."""

    kind: str
    path: tuple[Any, ...]
    message: str


Registry = dict[str, RegistryFile]
Check = Callable[[Registry], Iterable[Violation]]


@dataclass(frozen=True)
class Rule:
    rule_id: str
    severity: Severity
    summary: str
    check: Check

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.check.__doc__ or self.summary)


RULES: dict[str, Rule] = {}


def rule(rule_id: str, severity: Severity, summary: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        if rule_id in RULES:
            raise ValueError(f"duplicate rule id {rule_id}")
        RULES[rule_id] = Rule(rule_id, severity, summary, check)
        return check

    return register


def all_rules() -> list[Rule]:
    from governance.rules import cadence, ownership, review  # noqa: F401, PLC0415 - registration

    return [RULES[k] for k in sorted(RULES)]
