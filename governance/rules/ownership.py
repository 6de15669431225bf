"""Ownership and references: every owner resolves to a team that can be reached."""

from __future__ import annotations

from collections.abc import Iterable

from governance.findings import Severity
from governance.rules import Registry, Violation, rule


def _teams(registry: Registry) -> dict:
    return registry["teams"].data["teams"]


@rule("SG101", Severity.ERROR, "A domain owner is not a declared team")
def domain_owner_is_a_team(registry: Registry) -> Iterable[Violation]:
    """Domain owners must be teams declared in teams.yml.

    Why: an owner nobody can find is no owner; escalation, review reminders and the health
    report all look owners up in teams.yml.
    Fix: add the team to registry/teams.yml, or correct the spelling in the domain's `owners`.
    """
    teams = _teams(registry)
    for name, domain in registry["domains"].data["domains"].items():
        for role, team in domain["owners"].items():
            if team not in teams:
                yield Violation("domains", ("domains", name, "owners", role),
                                f"{role} owner {team!r} of domain {name!r} is not a team in teams.yml")


@rule("SG102", Severity.ERROR, "An owning team has no member in the role it owns")
def owner_team_has_the_role(registry: Registry) -> Iterable[Violation]:
    """The team named as a domain's technical or business owner needs a member with that role.

    Why: a team can be named as business owner without anyone in it able to take business
    decisions; conflicts under manual review and overdue reviews would then go unanswered.
    Fix: give a member of the team the role (`roles: [business_owner]`) or name another team.
    """
    teams = _teams(registry)
    for name, domain in registry["domains"].data["domains"].items():
        for role in ("technical", "business"):
            team = teams.get(domain["owners"].get(role))
            if team is None:
                continue
            if not any(f"{role}_owner" in m["roles"] for m in team["members"]):
                yield Violation("domains", ("domains", name, "owners", role),
                                f"team {domain['owners'][role]!r} owns domain {name!r} as {role}"
                                f" owner but has no member with the role {role}_owner")


@rule("SG103", Severity.ERROR, "A team has no escalation path")
def team_has_escalation(registry: Registry) -> Iterable[Violation]:
    """Every team needs at least one escalation contact with a response time.

    Why: when a critical domain fails at night, the on-call engineer must know whom to call
    next and how long to wait.
    Fix: add `escalation: [{contact: ..., within_minutes: ...}]` to the team.
    """
    for name, team in _teams(registry).items():
        if not team["escalation"]:
            yield Violation("teams", ("teams", name, "escalation"),
                            f"team {name!r} has no escalation contact")


@rule("SG501", Severity.ERROR, "A referenced system is not declared")
def systems_exist(registry: Registry) -> Iterable[Violation]:
    """Systems of record and field owners must be systems declared in systems.yml.

    Why: a typo in a system id silently moves ownership to a system that does not exist, and
    survivorship and conflict checks would then never pick the real owner.
    Fix: correct the id, or declare the system in registry/systems.yml.
    """
    systems = registry["systems"].data["systems"]
    for name, domain in registry["domains"].data["domains"].items():
        if domain["system_of_record"] not in systems:
            yield Violation("domains", ("domains", name, "system_of_record"),
                            f"system of record {domain['system_of_record']!r} of domain {name!r}"
                            " is not declared in systems.yml")
        for field, spec in domain["fields"].items():
            if spec["owner"] not in systems:
                yield Violation("domains", ("domains", name, "fields", field, "owner"),
                                f"owner {spec['owner']!r} of {name}.{field} is not declared in"
                                " systems.yml")


@rule("SG502", Severity.ERROR, "A system's owner is not a declared team")
def system_owner_is_a_team(registry: Registry) -> Iterable[Violation]:
    """Every system is owned by a team declared in teams.yml.

    Why: when a system stops sending, its owning team is who gets paged.
    Fix: name a declared team as the system's `owner`.
    """
    teams = _teams(registry)
    for name, system in registry["systems"].data["systems"].items():
        if system["owner"] not in teams:
            yield Violation("systems", ("systems", name, "owner"),
                            f"owner {system['owner']!r} of system {name!r} is not a team in teams.yml")


@rule("SG503", Severity.WARNING, "A team owns nothing")
def no_orphan_teams(registry: Registry) -> Iterable[Violation]:
    """Every declared team owns at least one domain or system.

    Why: orphan teams are usually leftovers of a reorganisation, and they receive nothing
    but still look like valid owners to a reviewer.
    Fix: remove the team or give it what it is meant to own.
    """
    owning = {s["owner"] for s in registry["systems"].data["systems"].values()}
    for domain in registry["domains"].data["domains"].values():
        owning |= set(domain["owners"].values())
    for name in _teams(registry):
        if name not in owning:
            yield Violation("teams", ("teams", name), f"team {name!r} owns no domain or system")
