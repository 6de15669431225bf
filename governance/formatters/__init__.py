"""Render findings for people (text) and tools (json, github, sarif)."""

from __future__ import annotations

from collections.abc import Callable

from governance.findings import Finding
from governance.formatters.github import render_github
from governance.formatters.junit import render_junit
from governance.formatters.sarif import render_sarif
from governance.formatters.text import render_json, render_text

__all__ = ["FORMATTERS", "render_github", "render_json", "render_junit", "render_sarif", "render_text"]

FORMATTERS: dict[str, Callable[[list[Finding]], str]] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
    "sarif": render_sarif,
    "junit": render_junit,
}
