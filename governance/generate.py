"""Derive the dbt inputs from the registry, so the registry stays the single source of truth."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from pathlib import Path

from governance.registry import RegistryFile, load_registry

Renderer = Callable[[dict[str, RegistryFile]], list[list[str]]]


def _domain_policies(registry: dict[str, RegistryFile]) -> list[list[str]]:
    ratio = float(registry["policy"].data["policy"]["freshness_warn_ratio"])
    rows = [["domain", "system_of_record", "criticality", "slo_minutes", "cadence",
             "conflict_policy", "degradation", "freshness_warn_minutes",
             "freshness_error_minutes"]]
    for name, d in sorted(registry["domains"].data["domains"].items()):
        slo = int(d["slo_minutes"])
        rows.append([name, d["system_of_record"], d["criticality"], str(slo), d["cadence"],
                     d["conflict_policy"], d["degradation"], str(math.ceil(slo * ratio)), str(slo)])
    return rows


def _field_ownership(registry: dict[str, RegistryFile]) -> list[list[str]]:
    rows = [["domain", "field", "owner_system", "classification"]]
    for name, d in registry["domains"].data["domains"].items():
        for field, spec in d["fields"].items():
            rows.append([name, field, spec["owner"], spec["classification"]])
    return rows


GENERATED: dict[str, Renderer] = {
    "seeds/generated/domain_policies.csv": _domain_policies,
    "seeds/generated/field_ownership.csv": _field_ownership,
}


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def render(registry_dir: Path) -> dict[str, str]:
    """Relative path -> the content it must have, from the registry."""
    registry = load_registry(registry_dir)
    return {path: _csv(renderer(registry)) for path, renderer in GENERATED.items()}


def stale_files(registry_dir: Path, project_dir: Path) -> list[str]:
    """Generated files whose content differs from what the registry says (or that are missing)."""
    stale = []
    for rel, content in render(registry_dir).items():
        path = project_dir / rel
        if not path.exists() or path.read_text() != content:
            stale.append(rel)
    return stale


def write(registry_dir: Path, project_dir: Path) -> list[str]:
    """Write every generated file that changed; return their relative paths."""
    written = []
    for rel, content in render(registry_dir).items():
        path = project_dir / rel
        if not path.exists() or path.read_text() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            written.append(rel)
    return written
