"""`syncgov generate`: the seeds dbt reads are derived from the registry and kept in step."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SYNCGOV = [sys.executable, "-c", "from governance.cli import run; run()"]


def syncgov(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SYNCGOV, *args], capture_output=True, text=True, cwd=cwd, check=False)


def _project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "registry", tmp_path / "registry")
    shutil.copytree(REPO / "seeds", tmp_path / "seeds")
    return tmp_path


def test_committed_seeds_match_the_registry() -> None:
    out = syncgov("generate", "--check", cwd=REPO)
    assert out.returncode == 0, out.stderr


def test_a_registry_change_makes_check_fail_until_regenerated(tmp_path: Path) -> None:
    project = _project(tmp_path)
    domains = project / "registry" / "domains.yml"
    domains.write_text(domains.read_text().replace("    slo_minutes: 15\n", "    slo_minutes: 20\n"))
    out = syncgov("generate", "--check", cwd=project)
    assert out.returncode == 1
    assert "seeds/generated/domain_policies.csv" in out.stderr
    assert "field_ownership" not in out.stderr

    out = syncgov("generate", cwd=project)
    assert out.returncode == 0
    row = next(line for line in (project / "seeds/generated/domain_policies.csv").read_text()
               .splitlines() if line.startswith("order,"))
    assert row.endswith(",10,20"), "warn at half the SLO (policy ratio), error at the SLO"
    assert syncgov("generate", "--check", cwd=project).returncode == 0


def test_a_hand_edit_of_a_generated_file_is_caught(tmp_path: Path) -> None:
    project = _project(tmp_path)
    seed = project / "seeds/generated/field_ownership.csv"
    seed.write_text(seed.read_text().replace("customer,email,crm,pii", "customer,email,erp,pii"))
    out = syncgov("generate", "--check", cwd=project)
    assert out.returncode == 1
    assert "field_ownership.csv" in out.stderr


def test_a_broken_registry_is_exit_2_with_location(tmp_path: Path) -> None:
    project = _project(tmp_path)
    policy = project / "registry" / "policy.yml"
    policy.write_text(policy.read_text().replace("max_review_cycle_days: 365", "max_review_cycle_days: soon"))
    line = next(i for i, text in enumerate(policy.read_text().splitlines(), 1) if "soon" in text)
    out = syncgov("generate", "--check", cwd=project)
    assert out.returncode == 2
    assert f"policy.yml:{line}: policy.max_review_cycle_days: 'soon' is not of type" in out.stderr
    assert "Traceback" not in out.stderr
