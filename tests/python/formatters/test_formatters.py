"""Formatters: JUnit parseable, SARIF valid against the official 2.1.0 schema, GitHub annotations escaped."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema

from governance.findings import Finding, Severity
from governance.formatters import (
    render_github,
    render_json,
    render_junit,
    render_sarif,
    render_text,
)
from governance.rules import all_rules

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

FINDINGS = [
    Finding(Path("registry/domains.yml"), 12, "SG302", Severity.ERROR, "domains.customer.cadence",
            "cadence '0 6 * * *' waits up to 1440 min, 100% over: the 60-min SLO"),
    Finding(Path("registry/domains.yml"), 40, "SG202", Severity.WARNING,
            "domains.order.last_reviewed", "due soon,\nplan it"),
]


def test_sarif_validates_against_the_official_schema() -> None:
    schema = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text())
    document = json.loads(render_sarif(FINDINGS))
    jsonschema.Draft7Validator(schema).validate(document)
    run = document["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rule_ids == [r.rule_id for r in all_rules()]
    first = run["results"][0]
    assert rule_ids[first["ruleIndex"]] == first["ruleId"] == "SG302"
    assert first["locations"][0]["physicalLocation"]["region"]["startLine"] == 12


def test_sarif_without_findings_is_valid() -> None:
    schema = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft7Validator(schema).validate(json.loads(render_sarif([])))


def test_github_annotations_escape_data_and_properties() -> None:
    lines = render_github(FINDINGS).splitlines()
    assert lines[0] == (
        "::error file=registry/domains.yml,line=12,title=SG302 domains.customer.cadence::"
        "SG302: cadence '0 6 * * *' waits up to 1440 min, 100%25 over: the 60-min SLO"
    )
    assert lines[1].startswith("::warning file=registry/domains.yml,line=40,")
    assert lines[1].endswith("::SG202: due soon,%0Aplan it")


def test_github_property_values_escape_colon_and_comma() -> None:
    odd = Finding(Path("reg,istry/a:b.yml"), 1, "SG101", Severity.ERROR, "x", "m")
    assert "file=reg%2Cistry/a%3Ab.yml," in render_github([odd])


def test_text_groups_by_file_and_counts() -> None:
    text = render_text(FINDINGS)
    assert text.splitlines()[0] == "registry/domains.yml"
    assert "    12  error   SG302" in text
    assert text.rstrip().endswith("1 error(s), 1 warning(s)")
    assert render_text([]) == "registry is clean\n"


def test_json_round_trips() -> None:
    data = json.loads(render_json(FINDINGS))
    assert data[1] == {"rule_id": "SG202", "severity": "warning", "file": "registry/domains.yml",
                       "line": 40, "yaml_path": "domains.order.last_reviewed",
                       "message": "due soon,\nplan it"}


def test_junit_is_parseable_with_one_failure_per_finding() -> None:
    findings = [
        Finding(Path("registry/domains.yml"), 4, "SG201", Severity.ERROR, "domains.customer", "a <b> & c"),
        Finding(Path("registry/teams.yml"), 9, "SG503", Severity.WARNING, "teams.x", "owns nothing"),
    ]
    root = ET.fromstring(render_junit(findings))
    failures = root.findall(".//failure")
    assert [f.get("type") for f in failures] == ["SG201", "SG503"]
    assert failures[0].text == "registry/domains.yml:4: domains.customer: a <b> & c"
    assert ET.fromstring(render_junit([])).find(".//testcase") is not None
