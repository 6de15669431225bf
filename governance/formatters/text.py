"""Findings grouped by file with line numbers, and as JSON."""

from __future__ import annotations

import json
from itertools import groupby

from governance.findings import Finding


def render_text(findings: list[Finding]) -> str:
    lines = []
    for path, group in groupby(findings, key=lambda f: f.path):
        lines.append(str(path))
        for f in group:
            lines.append(f"  {f.line:>4}  {f.severity.value:<7} {f.rule_id}  {f.message}  [{f.yaml_path}]")
    errors = sum(f.severity.value == "error" for f in findings)
    warnings = len(findings) - errors
    lines.append(f"{errors} error(s), {warnings} warning(s)" if findings else "registry is clean")
    return "\n".join(lines) + "\n"


def render_json(findings: list[Finding]) -> str:
    return json.dumps(
        [{"rule_id": f.rule_id, "severity": f.severity.value, "file": str(f.path), "line": f.line,
          "yaml_path": f.yaml_path, "message": f.message} for f in findings],
        indent=2,
    ) + "\n"
