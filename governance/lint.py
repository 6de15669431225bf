"""Lint the registry: load it, run every rule, locate each violation in its file."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

from governance.dbt_invoke import run_dbt
from governance.errors import DbtError, InputError
from governance.findings import Finding, Severity
from governance.registry import load_registry
from governance.registry.loader import paused_gc
from governance.rules import all_rules
from governance.rules import review as review_rules


def parse_project(project_dir: Path) -> None:
    """`dbt parse` the project, writing target/manifest.json for the dbt rules.

    Parsing needs no warehouse; a failure is unreadable input (exit 2), with dbt's log."""
    if not (project_dir / "dbt_project.yml").is_file():
        raise InputError(f"{project_dir}: no dbt_project.yml, so there is nothing to parse")
    try:
        # a repository that keeps its profiles elsewhere says so in DBT_PROFILES_DIR
        run_dbt(["parse"], project_dir=project_dir,
                log_path=project_dir / "logs" / "syncgov-lint-parse.log",
                env={"DBT_PROFILES_DIR": os.environ.get("DBT_PROFILES_DIR", str(project_dir))})
    except DbtError as exc:
        raise InputError(str(exc)) from None


def load_manifest(project_dir: Path) -> dict | None:
    """The dbt project's target/manifest.json, or None when it has not been built or parsed."""
    path = project_dir / "target" / "manifest.json"
    if not path.exists():
        return None
    try:
        with paused_gc():
            manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the dbt manifest ({exc})") from exc
    problem = _manifest_problem(manifest)
    if problem:
        raise InputError(f"{path}: not a dbt manifest the rules can read: {problem}"
                         " (run `dbt parse` again)")
    manifest["_project_dir"] = str(project_dir)
    return manifest


# What the dbt rules read from each entry of `nodes` and `sources`: key -> expected type.
_NODE_KEYS = {"unique_id": str, "resource_type": str}
_MODEL_KEYS = {"name": str, "fqn": list, "config": dict, "original_file_path": str}
_SOURCE_KEYS = {"unique_id": str, "source_name": str, "name": str, "original_file_path": str}


def _manifest_problem(manifest: object) -> str | None:
    """The first reason the manifest cannot be read by the dbt rules, or None."""
    if not isinstance(manifest, dict):
        return "the top level is not an object"
    for section, wanted in (("nodes", _NODE_KEYS), ("sources", _SOURCE_KEYS)):
        entries = manifest.get(section, {})
        if not isinstance(entries, dict):
            return f"`{section}` is not an object"
        for uid, entry in entries.items():
            problem = _entry_problem(entry, wanted)
            if problem:
                return f"{section}.{uid}{problem}"
    return None


def _entry_problem(entry: object, wanted: dict[str, type]) -> str | None:
    if not isinstance(entry, dict):
        return " is not an object"
    keys = {**wanted, **_MODEL_KEYS} if entry.get("resource_type") == "model" else wanted
    for key, kind in keys.items():
        if not isinstance(entry.get(key), kind):
            return f".{key} is missing or not a {kind.__name__}"
    for key in ("meta", "freshness", "test_metadata"):
        if entry.get(key) is not None and not isinstance(entry[key], dict):
            return f".{key} is not an object"
    error = (entry.get("freshness") or {}).get("error_after") or {}
    if not isinstance(error, dict) or not isinstance(error.get("count", 0), int | None):
        return ".freshness.error_after is not a dbt time threshold"
    return None


def _display(path: Path) -> Path:
    """Paths under the working directory relative to it (as CI annotations and SARIF want)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except (ValueError, OSError):
        return path


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
                findings.append(Finding(_display(violation.file), violation.line or 1, rule.rule_id,
                                        rule.severity, violation.kind, violation.message))
                continue
            file = registry[violation.kind]
            findings.append(Finding(
                path=_display(file.path),
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
