"""The registry as typed, immutable objects: parsed once, read by every consumer.

`load_registry` reads and validates the YAML (each node keeps its line); `build_model` turns
the validated files into the objects below. Everything that interprets a declaration — a
field mapping `domain.field`, a cadence, a review's due date, a classification's rank, the
landing tables an inbound flow implies and the dbt nodes that implement it — lives here, once.
Lint rules, the export gate, status, impact, contracts, schedules and `syncgov generate` read
this model; none of them re-parses the dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from governance.registry.loader import Located, RegistryFile, load_registry

# Classification levels, lowest first; a target's clearance must rank at least a field's.
LEVELS: tuple[str, ...] = ("public", "internal", "confidential", "restricted", "pii")
RANK: Mapping[str, int] = MappingProxyType({level: i for i, level in enumerate(LEVELS)})
# Streaming cadences and the longest gap between deliveries they allow, in minutes.
STREAMING: Mapping[str, int] = MappingProxyType({"realtime": 0, "near_realtime": 1})
# How staging parses a landed value (macros/sync_types.sql knows each).
FIELD_TYPES: tuple[str, ...] = ("string", "int", "money", "timestamp", "date")
# System kinds syncgov knows; any other is allowed and lint warns (SG104).
KNOWN_SYSTEM_KINDS: frozenset[str] = frozenset(
    {"erp", "crm", "wms", "oms", "pim", "srm", "helpdesk", "storefront", "warehouse", "tms",
     "procurement", "billing", "ecommerce", "marketing", "hr", "mes", "plm", "bi"})
WAREHOUSE = "warehouse"
PACKAGE = "syncgov"


@dataclass(frozen=True)
class Where:
    """The file and line a declaration was read from."""

    file: Path
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


def _frozen(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Owners:
    technical: str
    business: str
    steward: str | None = None


@dataclass(frozen=True)
class Field:
    """A field of a domain: its owning system, classification and how it is typed."""

    domain: str
    name: str
    owner: str
    classification: str
    type: str = "string"
    enum: tuple[str, ...] | None = None
    non_negative: bool = False
    nullable: bool = True
    description: str | None = None
    where: Where | None = None

    @property
    def is_number(self) -> bool:
        return self.type in ("int", "money")


@dataclass(frozen=True)
class KeyColumn:
    name: str
    classification: str
    type: str = "string"
    where: Where | None = None


@dataclass(frozen=True)
class VolumePolicy:
    direction: str = "drop"
    sensitivity: float = 3.0
    min_change_ratio: float = 0.5
    min_history: int = 12


@dataclass(frozen=True)
class Domain:
    name: str
    system_of_record: str
    criticality: str
    slo_minutes: int
    cadence: str
    conflict_policy: str
    degradation: str
    owners: Owners
    last_reviewed: str
    review_cycle_days: int
    fields: Mapping[str, Field]
    key: tuple[KeyColumn, ...] = ()
    key_name: str | None = None
    description: str | None = None
    cadence_justification: str | None = None
    volume: VolumePolicy = VolumePolicy()
    where: Where | None = None

    @property
    def key_column(self) -> str | None:
        """The staged business key: the key's column, or `key_name` for a composite key."""
        if not self.key:
            return None
        return self.key[0].name if len(self.key) == 1 else self.key_name

    @property
    def key_expression(self) -> str | None:
        """SQL over the key's columns that yields the staged key."""
        if not self.key:
            return None
        return " || ':' || ".join(k.name for k in self.key)

    @property
    def due_date(self) -> date:
        """When the next review is due: the last review plus the review cycle."""
        return date.fromisoformat(self.last_reviewed) + timedelta(days=self.review_cycle_days)

    @property
    def state_model(self) -> str:
        return f"{self.name}_state"

    @property
    def history_model(self) -> str:
        return f"{self.name}_history"

    def column(self, name: str) -> Field | KeyColumn | None:
        """A field, or a column of the key, by name."""
        if name in self.fields:
            return self.fields[name]
        return next((k for k in self.key if k.name == name), None)


@dataclass(frozen=True)
class LandingTable:
    """`landing.<system>__<table>`: the table an inbound flow fills, as staging reads it."""

    flow: str
    system: str
    table: str
    domain: str
    fields: tuple[str, ...]
    columns: Mapping[str, str] = field(default_factory=dict)
    extract: bool = True
    description: str | None = None
    # `kind` and the tool's options (docs/loaders.md); {} is the syncgov loader
    loader: Mapping[str, Any] = field(default_factory=dict)
    where: Where | None = None

    @property
    def loader_kind(self) -> str:
        return str(self.loader.get("kind", "syncgov"))

    @property
    def adapted(self) -> bool:
        """Landed by a tool through an adapter view, not in the contract by the loader itself."""
        return self.loader_kind != "syncgov"

    @property
    def landing_view_model(self) -> str:
        return f"landing_{self.system}__{self.table}"

    @property
    def name(self) -> str:
        return f"{self.system}__{self.table}"

    @property
    def relation(self) -> str:
        return f"landing.{self.name}"

    @property
    def staging_model(self) -> str:
        return f"stg_{self.system}__{self.table}"

    @property
    def state_model(self) -> str:
        return f"state_{self.system}__{self.table}"

    @property
    def source_id(self) -> str:
        return f"source.{PACKAGE}.{self.system}.{self.table}"

    def landed(self, column: str) -> str:
        """The landed column that carries a field or key column."""
        return self.columns.get(column, column)


@dataclass(frozen=True)
class Flow:
    name: str
    domain: str
    source: str
    target: str
    direction: str
    transport: str
    declared_nodes: tuple[str, ...] | None
    landing: LandingTable | None = None
    cadence: str | None = None
    cadence_justification: str | None = None
    slo_minutes: int | None = None
    description: str | None = None
    where: Where | None = None

    @property
    def inbound(self) -> bool:
        return self.target == WAREHOUSE

    @property
    def dbt_nodes(self) -> tuple[str, ...]:
        """The declared nodes, or for a landing flow its source, staging, state and entity state."""
        if self.declared_nodes is not None:
            return self.declared_nodes
        if self.landing is None:
            return ()
        t = self.landing
        return (t.source_id, f"model.{PACKAGE}.{t.staging_model}", f"model.{PACKAGE}.{t.state_model}",
                f"model.{PACKAGE}.{self.domain}_state")


@dataclass(frozen=True)
class System:
    name: str
    kind: str
    owners: Owners
    accepts_writes: bool
    clearance: str
    description: str | None = None
    where: Where | None = None


@dataclass(frozen=True)
class FieldRef:
    """What an export's target field carries: `field` of the export's domain or `domain.field`."""

    target_field: str
    domain: str
    field: str
    where: Where | None = None

    @property
    def qualified(self) -> str:
        """`domain.field`: how a mapping that names another domain is written."""
        return f"{self.domain}.{self.field}"


@dataclass(frozen=True)
class Export:
    name: str
    domain: str
    model: str
    target_system: str
    target_object: str
    key: Mapping[str, str]
    fields: tuple[FieldRef, ...]
    mode: str
    schedule: str
    owners: Owners
    raw: Mapping[str, Any]
    generated_sql: bool = False
    # the schedule while the export is degraded, when the export declares one
    degraded_schedule: str | None = None
    where: Where | None = None

    def key_origin(self, model: RegistryModel, column: str) -> tuple[str, str | None, str | None]:
        """(domain, owner, classification) of a key column: a field of the export's domain,
        else the domain's declared key (owner: the system of record); None when neither
        declares it (never defaulted)."""
        domain = model.domains.get(self.domain)
        if domain is None:
            return self.domain, None, None
        if column in domain.fields:
            f = domain.fields[column]
            return self.domain, f.owner, f.classification
        key = next((k for k in domain.key if k.name == column), None)
        if key is not None:
            return self.domain, domain.system_of_record, key.classification
        return self.domain, None, None


@dataclass(frozen=True)
class Member:
    name: str
    email: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Escalation:
    """A step of a team's escalation path: whom to call, and how soon they answer."""

    contact: str
    within_minutes: int


@dataclass(frozen=True)
class Team:
    name: str
    channel: str | None
    members: tuple[Member, ...]
    escalation: tuple[Escalation, ...]  # in the order they are called
    where: Where | None = None

    def with_role(self, role: str) -> tuple[Member, ...]:
        return tuple(m for m in self.members if role in m.roles)

    def first_email(self, role: str) -> str | None:
        return next((m.email for m in self.with_role(role)), None)


@dataclass(frozen=True)
class RegistryModel:
    """The whole registry, typed. `files` keeps the validated documents for line lookups."""

    domains: Mapping[str, Domain]
    systems: Mapping[str, System]
    flows: Mapping[str, Flow]
    exports: Mapping[str, Export]
    teams: Mapping[str, Team]
    policy: Mapping[str, Any]
    files: Mapping[str, RegistryFile]

    @cached_property
    def landing_tables(self) -> tuple[LandingTable, ...]:
        """Every landing table once, in the order the flows declare them."""
        return tuple(f.landing for f in self.flows.values() if f.landing is not None)

    def landing_tables_of(self, domain: str) -> tuple[LandingTable, ...]:
        return tuple(t for t in self.landing_tables if t.domain == domain)

    def flow_slo_minutes(self, flow: Flow) -> int | None:
        """A flow's latency SLO: its own, else its domain's."""
        if flow.slo_minutes is not None:
            return flow.slo_minutes
        domain = self.domains.get(flow.domain)
        return domain.slo_minutes if domain else None

    @property
    def freshness_warn_ratio(self) -> float:
        return float(self.policy["freshness_warn_ratio"])

    def where(self, kind: str, *path: Any) -> Where:
        file = self.files[kind]
        return Where(file.path, file.line_at((kind, *path)))


def parse_field_ref(ref: str, default_domain: str) -> tuple[str, str]:
    """(domain, field) of an export mapping's value: `field` or `domain.field`."""
    domain, _, name = ref.rpartition(".")
    return (domain or default_domain), name


def _owners(data: Mapping) -> Owners:
    return Owners(data["technical"], data["business"], data.get("steward"))


def _domain(name: str, d: Located, where: Any) -> Domain:
    fields = {}
    for fname, spec in d["fields"].items():
        enum = spec.get("enum")
        fields[fname] = Field(
            domain=name, name=fname, owner=spec["owner"], classification=spec["classification"],
            type=spec.get("type", "string"), enum=tuple(enum) if enum is not None else None,
            non_negative=bool(spec.get("non_negative", False)),
            nullable=bool(spec.get("nullable", True)), description=spec.get("description"),
            where=where("fields", fname))
    key = tuple(KeyColumn(k, spec["classification"], spec.get("type", "string"), where("key", k))
                for k, spec in (d.get("key") or {}).items())
    return Domain(
        name=name, system_of_record=d["system_of_record"], criticality=d["criticality"],
        slo_minutes=int(d["slo_minutes"]), cadence=d["cadence"],
        conflict_policy=d["conflict_policy"], degradation=d["degradation"],
        owners=_owners(d["owners"]), last_reviewed=d["last_reviewed"],
        review_cycle_days=int(d["review_cycle_days"]), fields=_frozen(fields), key=key,
        key_name=d.get("key_name"), description=d.get("description"),
        cadence_justification=d.get("cadence_justification"),
        volume=VolumePolicy(**dict(d.get("volume_anomaly") or {})), where=where())


def _flow(name: str, f: Located, where: Any) -> Flow:
    landing = None
    if "landing" in f:
        block = f["landing"]
        landing = LandingTable(
            flow=name, system=f["from"], table=block["table"], domain=f["domain"],
            fields=tuple(block["fields"]), columns=_frozen(block.get("columns") or {}),
            extract=bool(block.get("extract", True)), description=block.get("description"),
            loader=_frozen(block.get("loader") or {}), where=where("landing"))
    nodes = f.get("dbt_nodes")
    return Flow(
        name=name, domain=f["domain"], source=f["from"], target=f["to"],
        direction=f["direction"], transport=f["transport"],
        declared_nodes=tuple(nodes) if nodes is not None else None, landing=landing,
        cadence=f.get("cadence"), cadence_justification=f.get("cadence_justification"),
        slo_minutes=f.get("slo_minutes"), description=f.get("description"), where=where())


def _export(name: str, e: Located, where: Any) -> Export:
    fields = tuple(FieldRef(target, *parse_field_ref(ref, e["domain"]), where("fields", target))
                   for target, ref in e["fields"].items())
    return Export(
        name=name, domain=e["domain"], model=e["model"], target_system=e["target"]["system"],
        target_object=e["target"]["object"], key=_frozen(e["key"]), fields=fields,
        mode=e["mode"], schedule=e["schedule"], owners=_owners(e["owners"]), raw=e,
        generated_sql=e.get("model_sql", "custom") == "generated",
        degraded_schedule=e.get("degraded_schedule"), where=where())


def _locator(model_files: Mapping[str, RegistryFile], kind: str, name: str) -> Any:
    file = model_files[kind]

    def where(*path: Any) -> Where:
        return Where(file.path, file.line_at((kind, name, *path)))
    return where


def build_model(files: Mapping[str, RegistryFile]) -> RegistryModel:
    """The typed registry from validated files (as `load_registry` returns them)."""
    def items(kind: str) -> dict:
        return dict(files[kind].data[kind]) if kind in files else {}

    def loc(kind: str, name: str) -> Any:
        return _locator(files, kind, name)

    teams = {}
    for name, t in items("teams").items():
        teams[name] = Team(
            name=name, channel=t.get("channel"),
            members=tuple(Member(m["name"], m["email"], tuple(m["roles"]))
                          for m in t.get("members", ())),
            escalation=tuple(Escalation(s["contact"], int(s["within_minutes"]))
                             for s in t.get("escalation", ())),
            where=loc("teams", name)())
    systems = {
        name: System(name=name, kind=s["kind"], owners=_owners(s["owners"]),
                     accepts_writes=bool(s.get("accepts_writes", False)),
                     clearance=s.get("clearance", "public"), description=s.get("description"),
                     where=loc("systems", name)())
        for name, s in items("systems").items()}
    return RegistryModel(
        domains=_frozen({n: _domain(n, d, loc("domains", n)) for n, d in items("domains").items()}),
        systems=_frozen(systems),
        flows=_frozen({n: _flow(n, f, loc("flows", n)) for n, f in items("flows").items()}),
        exports=_frozen({n: _export(n, e, loc("exports", n)) for n, e in items("exports").items()}),
        teams=_frozen(teams),
        policy=_frozen(files["policy"].data["policy"]) if "policy" in files else _frozen({}),
        files=_frozen(files))


_CACHE: dict[int, tuple[Mapping[str, RegistryFile], RegistryModel]] = {}


def model_of(files: Mapping[str, RegistryFile]) -> RegistryModel:
    """The model of already-loaded files, built once per loaded registry."""
    cached = _CACHE.get(id(files))
    if cached is not None and cached[0] is files:
        return cached[1]
    built = build_model(files)
    _CACHE.clear()
    _CACHE[id(files)] = (files, built)
    return built


def load_model(directory: Path) -> RegistryModel:
    """Read, validate and type the registry under `directory` (InputError when it cannot)."""
    return build_model(load_registry(directory))
