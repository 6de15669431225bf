"""`syncgov new domain`: scaffold a domain, its source system and its inbound flow in the registry.

The entries are appended as text, so the registry files keep their comments and layout; every
value is checked before it is written (ids against the registry's id pattern, types against
the registry's field types) and the registry is validated afterwards — on any error the files
are restored as they were.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from governance.errors import UsageError
from governance.registry.model import FIELD_TYPES, load_model

ID = re.compile(r"[a-z][a-z0-9_]*\Z")
TEAM_ID = re.compile(r"[a-z][a-z0-9_-]*\Z")
ENUM_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_. -]*\Z")
TIERS = ("tier_1", "tier_2", "tier_3")
TRANSPORTS = ("cdc", "kafka", "api", "webhook", "batch_file", "queue")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str = "string"
    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class DomainSpec:
    name: str
    system: str
    table: str
    key: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    technical_team: str
    business_team: str
    key_name: str | None = None
    kind: str | None = None
    slo_minutes: int = 60
    cadence: str = "*/15 * * * *"
    tier: str = "tier_2"
    transport: str = "api"
    extract: bool = True
    description: str | None = None
    today: date = field(default_factory=date.today)


def _id(value: str, what: str, pattern: re.Pattern = ID) -> str:
    if not pattern.match(value):
        allowed = "letters, digits, _ and -" if pattern is TEAM_ID else "letters, digits and _"
        raise UsageError(f"{what} {value!r}: use lower-case {allowed} (starting with a letter)")
    return value


def parse_field(text: str, enums: dict[str, tuple[str, ...]]) -> FieldSpec:
    """`name` or `name:type` (type: string, int, money, timestamp, date)."""
    name, _, type_ = text.partition(":")
    _id(name, "--field")
    type_ = type_ or "string"
    if type_ not in FIELD_TYPES:
        raise UsageError(f"--field {text!r}: type must be one of {', '.join(FIELD_TYPES)}")
    return FieldSpec(name, type_, enums.get(name, ()))


def parse_enum(text: str) -> tuple[str, tuple[str, ...]]:
    """`field=a|b|c`."""
    name, sep, values = text.partition("=")
    if not sep or not values:
        raise UsageError(f"--enum {text!r}: expected FIELD=VALUE|VALUE|...")
    items = tuple(v.strip() for v in values.split("|"))
    bad = [v for v in items if not ENUM_VALUE.match(v)]
    if bad:
        raise UsageError(f"--enum {text!r}: values may hold letters, digits, _ . - and spaces"
                         f" ({bad[0]!r} does not)")
    return _id(name, "--enum field"), items


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _domain_yaml(spec: DomainSpec) -> str:
    keys = ", ".join(f"{k}: {{classification: internal}}" for k in spec.key)
    lines = [f"  {spec.name}:"]
    if spec.description:
        lines.append(f"    description: {_quote(spec.description)}")
    lines += [
        f"    system_of_record: {spec.system}",
        f"    criticality: {spec.tier}",
        f"    slo_minutes: {spec.slo_minutes}",
        f"    cadence: {_quote(spec.cadence)}",
        "    conflict_policy: system_of_record",
        "    degradation: retry",
        f"    owners: {{technical: {spec.technical_team}, business: {spec.business_team}}}",
        f"    last_reviewed: {spec.today.isoformat()}",
        "    review_cycle_days: 90",
        f"    key: {{{keys}}}",
    ]
    if len(spec.key) > 1:
        lines.append(f"    key_name: {spec.key_name}")
    lines.append("    fields:")
    for f in spec.fields:
        attrs = [f"owner: {spec.system}", "classification: internal"]
        if f.type != "string":
            attrs.append(f"type: {f.type}")
        if f.enum:
            attrs.append("enum: [" + ", ".join(_quote(v) for v in f.enum) + "]")
        lines.append(f"      {f.name}: {{{', '.join(attrs)}}}")
    return "\n".join(lines) + "\n"


def _flow_name(spec: DomainSpec) -> str:
    return f"{spec.system}_{spec.table}_to_warehouse"


def _flow_yaml(spec: DomainSpec) -> str:
    lines = [
        f"  {_flow_name(spec)}:",
        f"    domain: {spec.name}",
        f"    from: {spec.system}",
        "    to: warehouse",
        "    direction: one_way",
        f"    transport: {spec.transport}",
        "    landing:",
        f"      table: {spec.table}",
        "      fields: [" + ", ".join(f.name for f in spec.fields) + "]",
    ]
    if not spec.extract:
        lines.append("      extract: false")
    return "\n".join(lines) + "\n"


def _system_yaml(spec: DomainSpec) -> str:
    return "\n".join([
        f"  {spec.system}:",
        f"    kind: {spec.kind or spec.system}",
        f"    owners: {{technical: {spec.technical_team}, business: {spec.business_team}}}",
        "    accepts_writes: true",
        "    clearance: internal",
    ]) + "\n"


def _append(path: Path, text: str) -> None:
    current = path.read_text(encoding="utf-8")
    if current and not current.endswith("\n"):
        current += "\n"
    path.write_text(current + text, encoding="utf-8")


def _file(registry_dir: Path, kind: str) -> Path:
    for suffix in (".yml", ".yaml"):
        path = registry_dir / f"{kind}{suffix}"
        if path.is_file():
            return path
    raise UsageError(f"{registry_dir}: no {kind}.yml to add to")


def new_domain(registry_dir: Path, spec: DomainSpec) -> list[str]:
    """Append the domain, its flow and (when new) its system; return what was added."""
    for value, what in ((spec.name, "domain"), (spec.system, "--system"), (spec.table, "--table"),
                        *((k, "--key") for k in spec.key)):
        _id(value, what)
    _id(spec.technical_team, "--technical-team", TEAM_ID)
    _id(spec.business_team, "--business-team", TEAM_ID)
    if spec.kind is not None:
        _id(spec.kind, "--kind")
    if len(spec.key) > 1:
        if not spec.key_name:
            raise UsageError("a composite --key needs --key-name (the staged column built from it)")
        _id(spec.key_name, "--key-name")
    if not spec.fields:
        raise UsageError("give at least one --field")
    names = [f.name for f in spec.fields]
    if len(set(names)) != len(names) or set(names) & set(spec.key):
        raise UsageError("--field names must be distinct and differ from the key columns")
    if spec.tier not in TIERS:
        raise UsageError(f"--tier must be one of {', '.join(TIERS)}")
    if spec.transport not in TRANSPORTS:
        raise UsageError(f"--transport must be one of {', '.join(TRANSPORTS)}")
    if spec.slo_minutes < 1:
        raise UsageError("--slo-minutes must be at least 1")

    model = load_model(registry_dir)
    if spec.name in model.domains:
        raise UsageError(f"domain {spec.name!r} already exists ({model.domains[spec.name].where})")
    if _flow_name(spec) in model.flows or any(
            t.name == f"{spec.system}__{spec.table}" for t in model.landing_tables):
        raise UsageError(f"landing table {spec.system}__{spec.table} is already declared")
    for team in (spec.technical_team, spec.business_team):
        if team not in model.teams:
            raise UsageError(f"team {team!r} is not declared in teams.yml; known:"
                             f" {', '.join(sorted(model.teams))}")
    new_system = spec.system not in model.systems
    if new_system and spec.kind is None:
        raise UsageError(f"system {spec.system!r} is new: say what it is with --kind (e.g. tms)")

    files = {kind: _file(registry_dir, kind) for kind in ("domains", "flows", "systems")}
    before = {kind: path.read_text(encoding="utf-8") for kind, path in files.items()}
    added = []
    try:
        if new_system:
            _append(files["systems"], _system_yaml(spec))
            added.append(f"{files['systems']}: system {spec.system} (kind {spec.kind})")
        _append(files["domains"], _domain_yaml(spec))
        added.append(f"{files['domains']}: domain {spec.name}")
        _append(files["flows"], _flow_yaml(spec))
        added.append(f"{files['flows']}: flow {_flow_name(spec)} landing"
                     f" landing.{spec.system}__{spec.table}")
        load_model(registry_dir)
    except BaseException:
        for kind, text in before.items():
            files[kind].write_text(text, encoding="utf-8")
        raise
    return added
