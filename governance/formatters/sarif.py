"""SARIF 2.1.0, for code-scanning dashboards: stable rule ids and a rules section."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import quote

from governance.findings import Finding
from governance.rules import all_rules

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def render_sarif(findings: list[Finding]) -> str:
    rules = all_rules()
    index = {r.rule_id: i for i, r in enumerate(rules)}
    try:
        tool_version = version("syncgov")
    except PackageNotFoundError:
        tool_version = "0.0.0"
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "syncgov",
                "version": tool_version,
                "rules": [{
                    "id": r.rule_id,
                    "name": r.check.__name__,
                    "shortDescription": {"text": r.summary},
                    "fullDescription": {"text": r.doc},
                    "defaultConfiguration": {"level": r.severity.value},
                } for r in rules],
            }},
            "results": [{
                "ruleId": f.rule_id,
                "ruleIndex": index[f.rule_id],
                "level": f.severity.value,
                "message": {"text": f.message},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": quote(f.path.as_posix())},
                    "region": {"startLine": f.line},
                }}],
                "properties": {"yamlPath": f.yaml_path},
            } for f in findings],
        }],
    }
    return json.dumps(document, indent=2) + "\n"
