"""Lint the registry: load it, run every rule, locate each violation in its file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from governance.findings import Finding, Severity
from governance.registry import load_registry
from governance.rules import all_rules
from governance.rules import review as review_rules


def lint(registry_dir: Path, *, today: date | None = None) -> list[Finding]:
    """Every finding of every rule, sorted by file and line. Raises InputError on bad input."""
    registry = load_registry(registry_dir)
    review_rules.TODAY[0] = today or date.today()
    findings = []
    for rule in all_rules():
        for violation in rule.check(registry):
            file = registry[violation.kind]
            findings.append(Finding(
                path=file.path,
                line=file.line_at(violation.path),
                rule_id=rule.rule_id,
                severity=rule.severity,
                yaml_path=".".join(str(p) for p in violation.path),
                message=violation.message,
            ))
    return sorted(findings)


def fails(findings: list[Finding], fail_on: str) -> bool:
    if fail_on == "never":
        return False
    threshold = Severity(fail_on).rank
    return any(f.severity.rank >= threshold for f in findings)
