"""The broken-registry corpus: each case overlays files on a small valid registry and marks the
offending line with `# expect: RULE` (or `# expect: input <message>` for unreadable input).
The lint must report exactly that rule at exactly that line, and nothing else.

Its counterpart, `clean/`, overlays declarations that come close to a rule's line without
crossing it (a case is named after the rule it must not trip): they lint clean."""

from __future__ import annotations

import os
import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from governance.errors import InputError
from governance.lint import lint
from governance.rules import all_rules

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "registry"
GOLDEN = Path(__file__).resolve().parent / "golden" / "corpus_findings.txt"
UPDATE = os.environ.get("SYNCGOV_UPDATE_GOLDEN") == "1"
TODAY = date(2026, 11, 24)
CASES = sorted(p.name for p in (FIXTURES / "broken").iterdir() if p.is_dir())
CLEAN_CASES = sorted(p.name for p in (FIXTURES / "clean").iterdir() if p.is_dir())
MARK = re.compile(r"#\s*expect:\s*(.+?)\s*$")


def _assemble(case: str, tmp_path: Path, corpus: str = "broken",
              ) -> tuple[Path, list[tuple[str, int, str]]]:
    registry = tmp_path / "registry"
    shutil.copytree(FIXTURES / "valid", registry)
    expected = []
    for overlay in sorted((FIXTURES / corpus / case).glob("*.yml")):
        shutil.copy(overlay, registry / overlay.name)
        for number, line in enumerate(overlay.read_text().splitlines(), 1):
            match = MARK.search(line)
            if match:
                expected.append((overlay.name, number, match.group(1)))
    return registry, expected


def test_the_valid_fixture_is_clean(tmp_path: Path) -> None:
    assert lint(FIXTURES / "valid", today=TODAY) == []


def test_the_demo_registry_is_clean() -> None:
    assert lint(FIXTURES.parents[2] / "registry", today=TODAY) == []


def test_the_corpus_covers_every_registry_rule() -> None:
    """dbt rules (needs_manifest) are covered against a real manifest in tests/e2e."""
    covered = {c.split("_", 1)[0] for c in CASES}
    assert {r.rule_id for r in all_rules() if not r.needs_manifest} <= covered


@pytest.mark.parametrize("case", CASES)
def test_broken_registry(case: str, tmp_path: Path) -> None:
    registry, expected = _assemble(case, tmp_path)
    assert expected, f"{case}: no `# expect:` marker"
    if case.startswith("input_"):
        ((file, line, marker),) = expected
        message = marker.removeprefix("input").strip()
        with pytest.raises(InputError) as caught:
            lint(registry, today=TODAY)
        assert f"{file}:{line}:" in str(caught.value)
        assert message in str(caught.value)
        return
    findings = lint(registry, today=TODAY)
    assert [(f.path.name, f.line, f.rule_id) for f in findings] == expected


@pytest.mark.parametrize("case", CLEAN_CASES)
def test_clean_registry(case: str, tmp_path: Path) -> None:
    registry, expected = _assemble(case, tmp_path, corpus="clean")
    assert expected == [], f"{case}: a clean case expects nothing"
    assert lint(registry, today=TODAY) == []


def test_corpus_messages_match_the_golden_file(tmp_path: Path) -> None:
    """Every finding of the corpus, message and YAML path included, as a reviewer reads it.

    The per-case test pins rule and line; this pins the words, so moving a rule onto another
    reader (the registry model, say) shows any change in what it says. Regenerate after an
    intended change with `SYNCGOV_UPDATE_GOLDEN=1 pytest tests/python/rules` and review the diff.
    """
    lines = []
    for case in CASES:
        if case.startswith("input_"):
            continue  # unreadable input: test_broken_registry checks the error
        registry, _ = _assemble(case, tmp_path / case)
        for f in lint(registry, today=TODAY):
            lines.append(f"{case}  {f.path.relative_to(registry)}:{f.line}  {f.rule_id}"
                         f"  {f.severity.value}  [{f.yaml_path}]  {f.message}")
    output = "\n".join(lines) + "\n"
    if UPDATE:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(output)
    assert GOLDEN.exists(), f"run with SYNCGOV_UPDATE_GOLDEN=1 to create {GOLDEN.name}"
    assert output == GOLDEN.read_text()
