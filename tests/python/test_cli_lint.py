"""`syncgov lint`, `rules`, `explain`, `schedule` from the command line: exit codes and
robustness."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.cli import main
from tests.yaml_paths import key_paths

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "registry"
BROKEN = FIXTURES / "broken"


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_clean_registry_exits_0() -> None:
    result = invoke("lint", "--registry", str(FIXTURES / "valid"), "--today", "2026-11-24")
    assert result.exit_code == 0
    assert result.output == "registry is clean\n"


def test_findings_exit_1_unless_below_fail_on(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    shutil.copytree(FIXTURES / "valid", registry)
    shutil.copy(BROKEN / "SG202_review_due_soon" / "domains.yml", registry / "domains.yml")
    args = ("lint", "--registry", str(registry), "--today", "2026-11-24")
    assert invoke(*args).exit_code == 0, "a warning does not fail at the default --fail-on error"
    assert invoke(*args, "--fail-on", "warning").exit_code == 1
    shutil.copy(BROKEN / "SG201_review_overdue" / "domains.yml", registry / "domains.yml")
    assert invoke(*args).exit_code == 1
    assert invoke(*args, "--fail-on", "never").exit_code == 0


def test_output_file_and_formats(tmp_path: Path) -> None:
    out = tmp_path / "lint.sarif"
    result = invoke("lint", "--registry", str(FIXTURES / "valid"), "--format", "sarif",
                    "--output", str(out))
    assert result.exit_code == 0
    assert '"version": "2.1.0"' in out.read_text()


def test_unreadable_registry_exits_2(tmp_path: Path) -> None:
    result = invoke("lint", "--registry", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "registry directory not found" in result.output


def test_rules_and_explain() -> None:
    listing = invoke("rules").output
    assert "SG302  error    A cadence cannot meet the latency SLO" in listing
    explained = invoke("explain", "sg101")
    assert explained.exit_code == 0
    assert "Fix:" in explained.output
    assert invoke("explain", "SG000").exit_code == 2


scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10_000), st.text(max_size=12),
                    st.sampled_from(["tier_1", "realtime", "crm", "2026-01-01", "*/5 * * * *"]))
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(
                                ["domains", "teams", "systems", "policy", "flows", "exports",
                                 "customer", "owners", "cadence", "slo_minutes", "fields",
                                 "escalation", "target", "dbt_nodes", "from", "to", "x", 1,
                                 "<<"]), inner,
                                max_size=4)),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["policy", "teams", "systems", "domains", "flows", "exports"]),
       document=documents,
       raw=st.one_of(st.none(), st.text(max_size=60)))
def test_random_yaml_never_crashes(tmp_path_factory, kind: str, document, raw: str | None) -> None:
    registry = tmp_path_factory.mktemp("fuzz") / "registry"
    shutil.copytree(FIXTURES / "valid", registry)
    text = raw if raw is not None else yaml.safe_dump(document)
    (registry / f"{kind}.yml").write_text(text)
    result = invoke("lint", "--registry", str(registry), "--today", "2026-11-24")
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


VALID = {path.stem: yaml.safe_load(path.read_text()) for path in (FIXTURES / "valid").glob("*.yml")}
REPLACEMENTS = st.one_of(scalars, st.just({}), st.just([]), st.just({"x": 1}),
                         st.sampled_from(["platform", "sales", "crm", "erp", "srm", "customer",
                                          "0 0 31 2 *", "near_realtime", "bidirectional"]))


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_valid_registry_never_crashes(tmp_path_factory, data) -> None:
    """Small edits of a valid registry mostly pass the schema, so they reach the rules."""
    kind = data.draw(st.sampled_from(sorted(VALID)))
    document = copy.deepcopy(VALID[kind])
    path = data.draw(st.sampled_from(list(key_paths(document))[1:]))
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(REPLACEMENTS)
    registry = tmp_path_factory.mktemp("mutant") / "registry"
    shutil.copytree(FIXTURES / "valid", registry)
    (registry / f"{kind}.yml").write_text(yaml.safe_dump(document))
    result = invoke("lint", "--registry", str(registry), "--today", "2026-11-24")
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


def test_malformed_file_is_one_line_and_exit_2_in_a_real_process(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    shutil.copytree(FIXTURES / "valid", registry)
    (registry / "teams.yml").write_text("teams:\n  platform: {channel: x\n")
    out = subprocess.run([sys.executable, "-c", "from governance.cli import run; run()", "lint",
                          "--registry", str(registry)], capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("syncgov: error: ")
    assert "teams.yml:3: invalid YAML" in out.stderr


def test_defaults_lint_registry_and_the_manifest_from_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(FIXTURES / "valid", tmp_path / "registry")
    monkeypatch.chdir(tmp_path)
    assert invoke("lint", "--today", "2026-11-24").exit_code == 0, "no manifest: registry rules only"
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "manifest.json").write_text(json.dumps(
        {"metadata": {"project_name": "syncgov"}, "nodes": {}, "sources": {}}))
    result = invoke("lint", "--today", "2026-11-24", "--format", "json")
    assert result.exit_code == 1
    found = {(f["rule_id"], f["file"]) for f in json.loads(result.output)}
    assert found == {("SG601", "registry/flows.yml"), ("SG606", "registry/exports.yml")}
    (tmp_path / "target" / "manifest.json").write_text("{not json")
    broken = invoke("lint")
    assert broken.exit_code == 2
    assert "cannot read the dbt manifest" in broken.output


def test_junit_and_github_formats(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    shutil.copytree(FIXTURES / "valid", registry)
    shutil.copy(BROKEN / "SG701_export_above_clearance" / "exports.yml", registry / "exports.yml")
    args = ("lint", "--registry", str(registry), "--today", "2026-11-24")
    junit = invoke(*args, "--format", "junit")
    assert junit.exit_code == 1
    (failure,) = ET.fromstring(junit.output).findall(".//failure")
    assert failure.get("type") == "SG701"
    github = invoke(*args, "--format", "github").output.splitlines()
    assert len(github) == 1
    assert github[0].startswith("::error file=")
    assert ",line=8,title=SG701 exports.contacts_to_erp.fields.contact_email::SG701: " in github[0]


def test_schedule_command(tmp_path: Path) -> None:
    registry = Path(__file__).resolve().parents[2] / "registry"
    result = invoke("schedule", "--registry", str(registry))
    assert result.exit_code == 0
    assert {j["name"] for j in json.loads(result.output)} >= {"sync_customer", "sync_inventory"}
    out = tmp_path / "cron"
    assert invoke("schedule", "--registry", str(registry), "--format", "crontab",
                  "--project-dir", "/srv/x", "--output", str(out)).exit_code == 0
    assert "cd /srv/x && mkdir -p logs && " in out.read_text()
    assert " run --cadence sync_invoice --wait 600 --quiet" in out.read_text()
    assert invoke("schedule", "--format", "yaml").exit_code == 2
    assert invoke("schedule", "--registry", str(tmp_path / "none")).exit_code == 2


def test_explain_every_rule_has_why_and_fix() -> None:
    listing = invoke("rules").output.splitlines()
    assert len(listing) >= 20
    for line in listing:
        rule_id = line.split()[0]
        text = invoke("explain", rule_id).output
        assert "Why:" in text, rule_id
        assert "Fix:" in text, rule_id


def test_the_ci_example_and_the_pre_commit_hooks() -> None:
    repo = Path(__file__).resolve().parents[2]
    workflow = repo / ".github" / "workflows" / "syncgov-lint.yml"
    out = subprocess.run([str(repo / ".venv" / "bin" / "check-jsonschema"), "--builtin-schema",
                          "vendor.github-workflows", str(workflow)],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "syncgov lint --format github" in workflow.read_text()
    hooks = {h["id"]: h for h in yaml.safe_load((repo / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["syncgov-lint"]["entry"] == "syncgov lint"
    assert hooks["syncgov-generate-check"]["entry"] == "syncgov generate --check"
    assert all(h["pass_filenames"] is False for h in hooks.values())
