"""GitHub Actions workflow commands: one annotation per finding on the pull request."""

from __future__ import annotations

from governance.findings import Finding


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(findings: list[Finding]) -> str:
    out = []
    for f in findings:
        level = "error" if f.severity.value == "error" else "warning"
        props = ",".join([
            f"file={_escape_property(str(f.path))}",
            f"line={f.line}",
            f"title={_escape_property(f'{f.rule_id} {f.yaml_path}')}",
        ])
        out.append(f"::{level} {props}::{_escape_data(f'{f.rule_id}: {f.message}')}")
    return "\n".join(out) + ("\n" if out else "")
