"""Who answers for a domain: its owning teams, their channels, members by role and escalation
path, as the registry declares them."""

from __future__ import annotations

from dataclasses import dataclass

from governance.registry import RegistryFile

Registry = dict[str, RegistryFile]


@dataclass(frozen=True)
class Member:
    name: str
    email: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Escalation:
    contact: str
    within_minutes: int


@dataclass(frozen=True)
class Team:
    name: str
    channel: str | None
    members: tuple[Member, ...]
    escalation: tuple[Escalation, ...]

    def with_role(self, role: str) -> tuple[Member, ...]:
        return tuple(m for m in self.members if role in m.roles)


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
    spec = registry["teams"].data["teams"].get(name)
    if spec is None:
        return Team(name, None, (), ())
    return Team(
        name=name,
        channel=spec.get("channel"),
        members=tuple(Member(m["name"], m["email"], tuple(m.get("roles", ())))
                      for m in spec.get("members", ())),
        escalation=tuple(Escalation(e["contact"], int(e["within_minutes"]))
                         for e in spec.get("escalation", ())),
    )


def owners(registry: Registry, declared: dict) -> Owners:
    """Owners of a registry entry with `owners: {technical: TEAM, business: TEAM}`."""
    spec = declared.get("owners", {})
    return Owners(team(registry, spec.get("technical", "")), team(registry, spec.get("business", "")))


def domain_owners(registry: Registry, domain: str) -> Owners | None:
    spec = registry["domains"].data["domains"].get(domain)
    return None if spec is None else owners(registry, spec)
