"""A lint finding: which rule, how bad, where in which file, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"

    @property
    def rank(self) -> int:
        return 2 if self is Severity.ERROR else 1


@dataclass(frozen=True, order=True)
class Finding:
    path: Path
    line: int
    rule_id: str
    severity: Severity
    yaml_path: str
    message: str
