"""governance.owners: the teams behind a domain's declared owners, resolved from the registry
model (not parsed again), with stewards and the escalation path merged across both teams."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from governance.owners import domain_owners, team
from governance.registry import load_registry
from governance.registry.model import Escalation, Team, model_of

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "registry"


@pytest.fixture
def shared(tmp_path: Path):
    """The valid fixture with the owner teams of `customer` sharing a steward and a step."""
    shutil.copytree(FIXTURES / "valid", tmp_path / "registry")
    shutil.copy(FIXTURES / "owners" / "teams.yml", tmp_path / "registry" / "teams.yml")
    return load_registry(tmp_path / "registry")


def test_owners_are_the_models_teams(shared) -> None:
    owners = domain_owners(shared, "customer")
    teams = model_of(shared).teams
    assert owners.technical is teams["platform"]
    assert owners.business is teams["sales"]


def test_stewards_business_team_first_each_once(shared) -> None:
    owners = domain_owners(shared, "customer")
    assert [m.email for m in owners.stewards] == ["cy@example.com", "ada@example.com"]


def test_escalation_technical_first_then_the_business_teams_new_steps(shared) -> None:
    assert domain_owners(shared, "customer").escalation == (
        Escalation("oncall@example.com", 15), Escalation("duty@example.com", 60),
        Escalation("sales-lead@example.com", 120))


def test_an_undeclared_team_comes_back_empty(shared) -> None:
    assert team(shared, "marketing") == Team("marketing", None, (), ())


def test_an_undeclared_domain_has_no_owners(shared) -> None:
    assert domain_owners(shared, "supplier") is None


def test_demo_registry_owners_match_the_yaml() -> None:
    """An oracle read straight from the YAML: every domain's teams, members and escalation."""
    registry = load_registry(REPO / "registry")
    teams = yaml.safe_load((REPO / "registry" / "teams.yml").read_text())["teams"]
    domains = yaml.safe_load((REPO / "registry" / "domains.yml").read_text())["domains"]
    assert domains
    for name, spec in domains.items():
        owners = domain_owners(registry, name)
        for role, resolved in (("technical", owners.technical), ("business", owners.business)):
            declared = teams[spec["owners"][role]]
            assert resolved.name == spec["owners"][role]
            assert resolved.channel == declared["channel"]
            assert [(m.name, m.email, list(m.roles)) for m in resolved.members] == [
                (m["name"], m["email"], m["roles"]) for m in declared["members"]]
            assert [(e.contact, e.within_minutes) for e in resolved.escalation] == [
                (e["contact"], e["within_minutes"]) for e in declared["escalation"]]
