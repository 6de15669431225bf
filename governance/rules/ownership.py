"""Ownership: every domain, system and export has owners that resolve to reachable teams."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from governance.findings import Severity
from governance.registry.model import Team, model_of
from governance.rules import Registry, Violation, rule

# registry file kind -> the singular used in messages
OWNED = {"domains": "domain", "systems": "system", "exports": "export"}


def _teams(registry: Registry) -> Mapping[str, Team]:
    return model_of(registry).teams


def owners(registry: Registry) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(kind, id, role -> team) of everything that has owners."""
    model = model_of(registry)
    for kind in OWNED:
        for name, item in getattr(model, kind).items():
            roles = {"technical": item.owners.technical, "business": item.owners.business}
            if item.owners.steward is not None:
                roles["steward"] = item.owners.steward
            yield kind, name, roles


@rule("SG101", Severity.ERROR, "An owner is not a declared team")
def owner_is_a_team(registry: Registry) -> Iterable[Violation]:
    """The owners of every domain, system and export must be teams declared in teams.yml.

    Why: an owner nobody can find is no owner; escalation, review reminders, export gates and
    the health report all look owners up in teams.yml.
    Fix: add the team to registry/teams.yml, or correct the spelling in `owners`.
    """
    teams = _teams(registry)
    for kind, name, owned_by in owners(registry):
        for role, team in owned_by.items():
            if team not in teams:
                yield Violation(kind, (kind, name, "owners", role),
                                f"{role} owner {team!r} of {OWNED[kind]} {name!r} is not a team in"
                                " teams.yml")


@rule("SG102", Severity.ERROR, "An owning team has no member in the role it owns")
def owner_team_has_the_role(registry: Registry) -> Iterable[Violation]:
    """The team named as technical or business owner needs a member with that role.

    Why: a team can be named as business owner without anyone in it able to take business
    decisions; conflicts under manual review, blocked exports and overdue reviews would then
    go unanswered.
    Fix: give a member of the team the role (`roles: [business_owner]`) or name another team.
    """
    teams = _teams(registry)
    for kind, name, owned_by in owners(registry):
        for role in ("technical", "business"):
            team = teams.get(owned_by.get(role))
            if team is None:
                continue
            if not any(f"{role}_owner" in m.roles for m in team.members):
                yield Violation(kind, (kind, name, "owners", role),
                                f"team {owned_by[role]!r} owns {OWNED[kind]} {name!r} as {role}"
                                f" owner but has no member with the role {role}_owner")


@rule("SG103", Severity.ERROR, "A team has no escalation path")
def team_has_escalation(registry: Registry) -> Iterable[Violation]:
    """Every team needs at least one escalation contact with a response time.

    Why: when a critical domain fails at night, the on-call engineer must know whom to call
    next and how long to wait.
    Fix: add `escalation: [{contact: ..., within_minutes: ...}]` to the team.
    """
    for name, team in _teams(registry).items():
        if not team.escalation:
            yield Violation("teams", ("teams", name, "escalation"),
                            f"team {name!r} has no escalation contact")


@rule("SG104", Severity.ERROR, "An escalation path does not escalate in order")
def escalation_in_order(registry: Registry) -> Iterable[Violation]:
    """Escalation contacts are listed in order, each with a longer response time than the last.

    Why: escalation is ordered — the first contact answers fastest, the next one is called
    when the first did not answer in time. A later contact with a shorter (or equal) time
    means the path is out of order and on-call would call the wrong person first.
    Fix: order `escalation` by `within_minutes`, strictly increasing.
    """
    for name, team in _teams(registry).items():
        path = team.escalation
        for i in range(1, len(path)):
            if path[i].within_minutes <= path[i - 1].within_minutes:
                yield Violation("teams", ("teams", name, "escalation", i),
                                f"escalation step {i + 1} of team {name!r} ({path[i].contact},"
                                f" {path[i].within_minutes} min) is not later than step {i}"
                                f" ({path[i - 1].within_minutes} min)")
