"""Who answers for a domain: its owning teams, their channels, members by role and escalation
path, as the registry declares them.

The teams themselves are the registry model's (`governance.registry.model.Team`); this module
resolves the team names an entry's `owners` declares into those teams.
"""

from __future__ import annotations

from dataclasses import dataclass

from governance.registry import RegistryFile
from governance.registry.model import Escalation, Member, Team, model_of
from governance.registry.model import Owners as DeclaredOwners

Registry = dict[str, RegistryFile]


@dataclass(frozen=True)
class Owners:
    """The technical and the business owner team of a domain (or an export)."""

    technical: Team
    business: Team

    @property
    def stewards(self) -> tuple[Member, ...]:
        seen: dict[str, Member] = {}
        for team in (self.business, self.technical):
            for m in team.with_role("steward"):
                seen.setdefault(m.email, m)
        return tuple(seen.values())

    @property
    def escalation(self) -> tuple[Escalation, ...]:
        """The technical team's path first (they fix the sync), then the business team's."""
        return self.technical.escalation + tuple(
            e for e in self.business.escalation if e not in self.technical.escalation)


def team(registry: Registry, name: str) -> Team:
    """The team `name`; an undeclared team (a lint error) comes back without members."""
    declared = model_of(registry).teams.get(name)
    return declared if declared is not None else Team(name, None, (), ())


def owners(registry: Registry, declared: DeclaredOwners) -> Owners:
    """The teams behind an entry's declared `owners: {technical: TEAM, business: TEAM}`."""
    return Owners(team(registry, declared.technical), team(registry, declared.business))


def domain_owners(registry: Registry, domain: str) -> Owners | None:
    spec = model_of(registry).domains.get(domain)
    return None if spec is None else owners(registry, spec.owners)
