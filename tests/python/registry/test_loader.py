"""The registry loader: locations kept, duplicate keys and schema violations named by line."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import jsonschema
import pytest

from governance.errors import InputError
from governance.registry import load_registry
from governance.registry.loader import load_file

REPO = Path(__file__).resolve().parents[3]


def _write(tmp_path: Path, text: str, kind: str = "domains") -> Path:
    path = tmp_path / f"{kind}.yml"
    path.write_text(text)
    return path


def test_the_demo_registry_loads_with_lines() -> None:
    registry = load_registry(REPO / "registry")
    domains = registry["domains"]
    customer = domains.data["domains"]["customer"]
    text = (REPO / "registry" / "domains.yml").read_text().splitlines()
    line = domains.line_at(("domains", "customer", "slo_minutes"))
    assert text[line - 1].strip() == f"slo_minutes: {customer['slo_minutes']}"
    assert customer["last_reviewed"] == "2026-10-01", "dates stay as written"


def test_duplicate_keys_are_rejected_with_both_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, "domains:\n  customer:\n    slo_minutes: 60\n    slo_minutes: 5\n")
    expected = r"domains\.yml:4: invalid YAML: duplicate key 'slo_minutes' \(first at line 3\)"
    with pytest.raises(InputError, match=expected):
        load_file(path, "domains")


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "domains:\n  customer: [unclosed\n  product: {}\n")
    with pytest.raises(InputError, match=r"domains\.yml:\d+: invalid YAML"):
        load_file(path, "domains")


def test_schema_violation_names_line_and_yaml_path(tmp_path: Path) -> None:
    shutil.copy(REPO / "registry" / "domains.yml", tmp_path / "domains.yml")
    text = (tmp_path / "domains.yml").read_text().replace(
        "    criticality: tier_1\n    slo_minutes: 5\n", "    criticality: tier_9\n    slo_minutes: 5\n"
    )
    path = _write(tmp_path, text)
    lines = text.splitlines()
    expected = next(i for i, line in enumerate(lines, 1) if "tier_9" in line)
    message = rf"domains\.yml:{expected}: domains\.inventory\.criticality: 'tier_9' is not one of"
    with pytest.raises(InputError, match=message):
        load_file(path, "domains")


def test_no_arbitrary_objects(tmp_path: Path) -> None:
    path = _write(tmp_path, "domains: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(InputError, match="invalid YAML"):
        load_file(path, "domains")


@pytest.mark.parametrize(("text", "message"), [
    ("- a\n- b\n", "expected a mapping"),
    ("", "expected a mapping"),
])
def test_wrong_top_level_shape(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_file(_write(tmp_path, text), "domains")


def test_unknown_and_missing_files(tmp_path: Path) -> None:
    shutil.copy(REPO / "registry" / "policy.yml", tmp_path / "policy.yml")
    with pytest.raises(InputError, match=r"missing teams\.yml, systems\.yml, domains\.yml"):
        load_registry(tmp_path)
    (tmp_path / "teams_typo.yml").write_text("x: 1\n")
    with pytest.raises(InputError, match="unknown registry file"):
        load_registry(tmp_path)


def test_merge_keys_may_be_overridden_but_own_keys_not_repeated(tmp_path: Path) -> None:
    text = """flows:
  base: &base {domain: customer, from: crm, to: erp, direction: one_way, transport: api,
               dbt_nodes: []}
  other:
    <<: *base
    transport: cdc
"""
    data = load_file(_write(tmp_path, text, "flows"), "flows").data["flows"]
    assert data["other"]["transport"] == "cdc"
    assert data["other"]["from"] == "crm"
    with pytest.raises(InputError, match=r"flows\.yml:7: invalid YAML: duplicate key 'transport' \(first at line 6\)"):
        load_file(_write(tmp_path, text + "    transport: kafka\n", "flows"), "flows")


@pytest.mark.parametrize(("text", "message"), [
    ("domains:\n  1: {}\n", r"domains\.yml:2: invalid YAML: key 1 is not a string"),
    ("domains:\n  yes: {}\n", r"domains\.yml:2: invalid YAML: key True is not a string"),
    ("domains: &a\n  x: *a\n", r"domains\.yml:1: invalid YAML: contains itself through an alias"),
    ("domains: " + "[" * 3000 + "]" * 3000 + "\n", r"domains\.yml: invalid YAML: nested too deeply"),
])
def test_hostile_or_ambiguous_yaml(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_file(_write(tmp_path, text), "domains")


def test_alias_expansion_is_capped(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefg", "bcdefgh", strict=False):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    lines.append("domains: *h")
    with pytest.raises(InputError, match=r"domains\.yml:7: invalid YAML: expands to more than"):
        load_file(_write(tmp_path, "\n".join(lines) + "\n"), "domains")


def test_exports_are_optional(tmp_path: Path) -> None:
    for path in (REPO / "registry").glob("*.yml"):
        if path.name != "exports.yml":
            shutil.copy(path, tmp_path / path.name)
    registry = load_registry(tmp_path)
    assert registry["exports"].data["exports"] == {}


def test_every_registry_file_points_editors_at_its_schema() -> None:
    for path in sorted((REPO / "registry").glob("*.yml")):
        first = path.read_text().splitlines()[0]
        assert first == f"# yaml-language-server: $schema=../governance/schemas/{path.stem}.schema.json"
        assert (REPO / "governance" / "schemas" / f"{path.stem}.schema.json").exists()


def test_the_schemas_are_valid_draft_2020_12() -> None:
    for path in sorted((REPO / "governance" / "schemas").glob("*.schema.json")):
        schema = json.loads(path.read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)


# Inputs found by fuzzing the registry: each is exit 2 with the file named, never a hang, a
# traceback or one file silently winning.


def test_non_utf8_bytes_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "domains.yml"
    path.write_bytes(b"domains:\n  customer:\n    owner: caf\xe9\n")
    with pytest.raises(InputError, match=r"domains\.yml:3: not UTF-8 \(byte 0xe9"):
        load_file(path, "domains")


def test_a_fifo_or_a_device_is_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "domains.yml"
    os.mkfifo(fifo)  # reading it would block until a writer appears
    with pytest.raises(InputError, match=r"domains\.yml: not a regular file"):
        load_file(fifo, "domains")
    device = tmp_path / "policy.yml"
    device.symlink_to("/dev/zero")  # reading it would never end
    with pytest.raises(InputError, match=r"policy\.yml: not a regular file"):
        load_file(device, "policy")


def test_two_files_for_one_kind_are_an_error(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    shutil.copytree(REPO / "registry", registry)
    shutil.copy(registry / "domains.yml", registry / "domains.yaml")
    with pytest.raises(InputError, match=r"domains\.yml: a second domains file beside .*domains\.yaml"):
        load_registry(registry)


@pytest.mark.parametrize("value", ["evil\n", "evil\n\n"])
def test_an_id_with_a_trailing_newline_is_rejected(tmp_path: Path, value: str) -> None:
    text = (REPO / "registry" / "systems.yml").read_text()
    path = _write(tmp_path, text.replace("\n  crm:\n", f"\n  {json.dumps(value)}:\n", 1), "systems")
    assert json.dumps(value) in path.read_text()
    with pytest.raises(InputError, match=r"systems\.yml:\d+: .*\[schema systems\]"):
        load_file(path, "systems")
