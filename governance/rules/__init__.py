"""The lint rules, as data: each rule has a stable id, a severity, a summary and a docstring.

A rule is a function `(Registry) -> Iterable[Violation]` decorated with `@rule(...)`; its
docstring explains why the rule exists and how to fix a finding (`syncgov explain ID`).
Importing the rule modules registers them, in id order.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from governance.findings import Severity
from governance.registry import RegistryFile


@dataclass(frozen=True)
class Violation:
    """What a rule found: the registry file kind and key path of the offending node, or for a
    finding in the dbt project, the file and line themselves."""

    kind: str
    path: tuple[Any, ...]
    message: str
    file: Path | None = None
    line: int | None = None


Registry = dict[str, RegistryFile]
Manifest = dict[str, Any]
Check = Callable[..., Iterable[Violation]]


@dataclass(frozen=True)
class Rule:
    rule_id: str
    severity: Severity
    summary: str
    check: Check
    # dbt rules read target/manifest.json and run only when it is there
    needs_manifest: bool = False

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.check.__doc__ or self.summary)


RULES: dict[str, Rule] = {}


def rule(rule_id: str, severity: Severity, summary: str, *, needs_manifest: bool = False,
         ) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        if rule_id in RULES:
            raise ValueError(f"duplicate rule id {rule_id}")
        RULES[rule_id] = Rule(rule_id, severity, summary, check, needs_manifest)
        return check

    return register


def all_rules() -> list[Rule]:
    from governance.rules import (  # noqa: F401, PLC0415 - importing registers the rules
        cadence,
        classification,
        dbt_consistency,
        declarations,
        direction,
        ownership,
        references,
        review,
    )

    return [RULES[k] for k in sorted(RULES)]
