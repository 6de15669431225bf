"""JUnit XML for CI dashboards: one test case per registry file, one failure per finding."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from governance.findings import Finding


def render_junit(findings: list[Finding]) -> str:
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for f in sorted(findings):
        by_file[str(f.path)].append(f)
    suite = ET.Element(
        "testsuite",
        name="syncgov lint",
        tests=str(max(len(by_file), 1)),
        failures=str(len(findings)),
        errors="0",
    )
    if not by_file:
        ET.SubElement(suite, "testcase", classname="syncgov.lint", name="registry")
    for path, items in by_file.items():
        case = ET.SubElement(suite, "testcase", classname="syncgov.lint", name=path)
        for f in items:
            failure = ET.SubElement(
                case, "failure", type=f.rule_id, message=f"{f.rule_id} {f.severity.value}: {f.message}"
            )
            failure.text = f"{path}:{f.line}: {f.yaml_path}: {f.message}"
    root = ET.Element("testsuites", name="syncgov", tests=suite.get("tests", "0"),
                      failures=str(len(findings)))
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
