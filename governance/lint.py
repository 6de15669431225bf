"""Lint the registry: load it, run every rule, locate each violation in its file."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from governance.errors import InputError
from governance.findings import Finding, Severity
from governance.registry import load_registry
from governance.rules import all_rules
from governance.rules import review as review_rules


def load_manifest(project_dir: Path) -> dict | None:
    """The dbt project's target/manifest.json, or None when it has not been built or parsed."""
    path = project_dir / "target" / "manifest.json"
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read the dbt manifest ({exc})") from exc
    manifest["_project_dir"] = str(project_dir)
    return manifest


def lint(registry_dir: Path, *, today: date | None = None, manifest: dict | None = None,
         ) -> list[Finding]:
    """Every finding of every rule, sorted by file and line; dbt rules only with a manifest.
    Raises InputError on unreadable input."""
    registry = load_registry(registry_dir)
    review_rules.TODAY[0] = today or date.today()
    findings = []
    for rule in all_rules():
        if rule.needs_manifest and manifest is None:
            continue
        violations = rule.check(registry, manifest) if rule.needs_manifest else rule.check(registry)
        for violation in violations:
            if violation.file is not None:
                findings.append(Finding(violation.file, violation.line or 1, rule.rule_id,
                                        rule.severity, violation.kind, violation.message))
                continue
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
