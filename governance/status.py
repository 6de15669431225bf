"""The status board: every domain and flow with its status and reason, staleness against its
SLO, latency, open conflicts, quarantine and the verdicts of the exports it feeds — and
whether it must page someone.

A domain pages when its criticality tier is one of the policy's `paging_tiers` (default
tier_1) and it is `failed` or `delayed`: the data is missing or older than its SLO. A
`partial` domain (unreconciled batches) shows everywhere but waits for office hours.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from governance.control_tables import ControlSnapshot, Health
from governance.export_verdicts import ExportVerdict, export_verdicts
from governance.owners import domain_owners
from governance.registry import RegistryFile
from governance.registry.model import model_of

Registry = dict[str, RegistryFile]
STATUSES = ("current", "partial", "delayed", "failed", "unknown")
PAGING_STATUSES = frozenset({"failed", "delayed"})
DEFAULT_PAGING_TIERS = ("tier_1",)
STYLE = {"current": "green", "partial": "yellow", "delayed": "red", "failed": "bold red",
         "unknown": "magenta", "publishable": "green", "warn": "yellow", "blocked": "bold red",
         "not_evaluated": "dim"}


@dataclass(frozen=True)
class FlowStatus:
    flow: str
    system: str | None
    status: str
    reason: str
    slo_minutes: int | None
    staleness_minutes: int | None
    last_success_at: datetime | None
    last_success_batch_id: str | None
    latency_p50_minutes: float | None
    latency_p95_minutes: float | None
    duplicates: int
    quarantined: int
    unreconciled_batches: int
    drifted_keys: int
    open_conflicts: int
    rows_landed: int = 0
    volume_judged: bool = False
    volume_anomaly: str | None = None  # drop or spike: the latest batch is off its baseline


@dataclass(frozen=True)
class DomainStatus:
    domain: str
    criticality: str | None
    status: str
    reason: str
    pages: bool
    slo_minutes: int | None
    staleness_minutes: int | None
    last_success_at: datetime | None
    latency_p95_minutes: float | None
    duplicates: int
    quarantined: int
    unreconciled_batches: int
    drifted_keys: int
    open_conflicts: int
    technical_owner: str | None
    business_owner: str | None
    flows: tuple[FlowStatus, ...]
    exports: tuple[ExportVerdict, ...]

    @property
    def healthy(self) -> bool:
        return self.status == "current"


@dataclass(frozen=True)
class StatusBoard:
    warehouse: str  # a DuckDB file or a Snowflake target, as the snapshot names it
    evaluated_at: datetime | None
    paging_tiers: tuple[str, ...]
    domains: tuple[DomainStatus, ...]
    exports: tuple[ExportVerdict, ...]
    export_log_present: bool

    @property
    def paging(self) -> tuple[DomainStatus, ...]:
        """Domains that must page someone now."""
        return tuple(d for d in self.domains if d.pages)

    def domain(self, name: str) -> DomainStatus:
        return next(d for d in self.domains if d.domain == name)


def paging_tiers(registry: Registry) -> tuple[str, ...]:
    return tuple(model_of(registry).policy.get("paging_tiers", DEFAULT_PAGING_TIERS))


def status_board(snapshot: ControlSnapshot, registry: Registry) -> StatusBoard:
    """Combine the control tables with the registry (owners, tiers, exports)."""
    tiers = paging_tiers(registry)
    exports = export_verdicts(registry, snapshot.export_log)
    declared = model_of(registry).domains
    by_domain: dict[str, Health] = {h.domain: h for h in snapshot.health if h.level == "domain"}
    flows: dict[str, list[FlowStatus]] = {}
    for h in snapshot.health:
        if h.level == "flow":
            flows.setdefault(h.domain, []).append(_flow(h, snapshot.volume))
    names = list(declared) + sorted(set(by_domain) - set(declared))
    domains = []
    for name in names:
        health = by_domain.get(name)
        spec = declared.get(name)
        owners = domain_owners(registry, name)
        criticality = spec.criticality if spec else (health.criticality if health else None)
        status = health.status if health else "unknown"
        domains.append(DomainStatus(
            domain=name,
            criticality=criticality,
            status=status,
            reason=health.reason if health else
            f"{name}: not in control.sync_health (run `dbt build` after changing the registry)",
            pages=criticality in tiers and status in PAGING_STATUSES,
            slo_minutes=spec.slo_minutes if spec else (health.slo_minutes if health else None),
            staleness_minutes=health.staleness_minutes if health else None,
            last_success_at=health.last_success_at if health else None,
            latency_p95_minutes=health.latency_p95_minutes if health else None,
            duplicates=int(health.duplicates) if health else 0,
            quarantined=int(health.quarantined) if health else 0,
            unreconciled_batches=int(health.unreconciled_batches) if health else 0,
            drifted_keys=int(health.drifted_keys) if health else 0,
            open_conflicts=int(health.open_conflicts) if health else 0,
            technical_owner=owners.technical.name if owners else None,
            business_owner=owners.business.name if owners else None,
            flows=tuple(flows.get(name, ())),
            exports=tuple(e for e in exports if name in e.reads_domains),
        ))
    return StatusBoard(
        warehouse=snapshot.warehouse,
        evaluated_at=snapshot.evaluated_at,
        paging_tiers=tiers,
        domains=tuple(domains),
        exports=exports,
        export_log_present=snapshot.export_log is not None,
    )


def _flow(h: Health, volume: dict[str, str | None]) -> FlowStatus:
    return FlowStatus(
        flow=h.flow or "",
        system=h.source_system,
        status=h.status,
        reason=h.reason,
        slo_minutes=h.slo_minutes,
        staleness_minutes=h.staleness_minutes,
        last_success_at=h.last_success_at,
        last_success_batch_id=h.last_success_batch_id,
        latency_p50_minutes=h.latency_p50_minutes,
        latency_p95_minutes=h.latency_p95_minutes,
        duplicates=int(h.duplicates),
        quarantined=int(h.quarantined),
        unreconciled_batches=int(h.unreconciled_batches),
        drifted_keys=int(h.drifted_keys),
        open_conflicts=int(h.open_conflicts),
        rows_landed=int(h.rows_landed),
        volume_judged=(h.flow or "") in volume,
        volume_anomaly=volume.get(h.flow or ""),
    )


# -- formats -------------------------------------------------------------------------------


def to_json(board: StatusBoard) -> dict[str, Any]:
    """A JSON-ready document: stable keys, ISO timestamps, the paging decision at the top."""

    def clean(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat() + ("Z" if value.tzinfo is None else "")
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        return value

    domains = []
    for d in board.domains:
        entry = asdict(d)
        entry["exports"] = [{"export_id": e.export_id, "verdict": e.verdict,
                             "reasons": list(e.reasons)} for e in d.exports]
        domains.append(entry)
    return clean({
        "warehouse": board.warehouse,
        "evaluated_at": board.evaluated_at,
        "paging_tiers": list(board.paging_tiers),
        "paging": [d.domain for d in board.paging],
        "domains": domains,
        "exports": [asdict(e) | {"reason_text": e.reason_text}
                    for e in board.exports],
    })


def _minutes(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 120:
        hours = value / 60
        return f"{hours:,.0f} h" if hours.is_integer() or hours >= 10 else f"{hours:,.1f} h"
    if value >= 10 or float(value).is_integer():
        return f"{value:,.0f} min"
    return f"{value:,.1f} min"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "never"


def _styled(value: str) -> Text:
    return Text(value.replace("_", " "), style=STYLE.get(value, ""))


def staleness_text(staleness: int | None, slo: int | None) -> str:
    if staleness is None:
        return "—"
    return f"{_minutes(staleness)} / {_minutes(slo)}" if slo else _minutes(staleness)


def flow_reason(flow: FlowStatus) -> str:
    """The reason without the flow's own name in front (the row already names it)."""
    return flow.reason.removeprefix(f"{flow.flow}: ")


# Below this many columns the full table squeezes status and reason to nothing: keep the
# columns an operator acts on (what, status, how stale, why) and drop the rest.
WIDE_COLUMNS = 160
NARROW = ("domain / flow", "status", "stale / SLO", "reason")


def render_table(board: StatusBoard, *, wide: bool = True) -> Table:
    """The terminal table: one row per domain, then its flows indented under it. `wide=False`
    keeps only the domain, status, staleness and reason columns (readable at 80 columns)."""
    title = f"sync status at {_when(board.evaluated_at)} UTC — {board.warehouse}"
    table = Table(title=title, title_justify="left", show_lines=False, expand=True)
    columns = (("domain / flow", "left", False), ("tier", "left", False),
               ("status", "left", False), ("stale / SLO", "right", False),
               ("last success", "left", False),
               ("p95 latency", "right", False), ("conflicts", "right", False),
               ("quarantined", "right", False), ("exports", "left", True),
               ("reason", "left", True))
    keep = [i for i, (name, _, _) in enumerate(columns) if wide or name in NARROW]
    for i in keep:
        name, justify, wrap = columns[i]
        table.add_column(name, justify=justify, no_wrap=not wrap and wide, overflow="fold",
                         ratio=2 if name == "reason" else (1 if wrap else None),
                         min_width=12 if name == "status" else None)

    def row(cells: list, **kw: object) -> None:
        table.add_row(*(cells[i] for i in keep), **kw)

    for d in board.domains:
        exports = Text()
        for i, e in enumerate(d.exports):
            if i:
                exports.append("\n")
            exports.append(f"{e.export_id} ")
            exports.append(e.verdict.replace("_", " "), style=STYLE.get(e.verdict, ""))
        status = _styled(d.status)
        if d.pages:
            status.append(" PAGE", style="bold white on red")
        row([Text(d.domain, style="bold"), d.criticality or "—", status,
             staleness_text(d.staleness_minutes, d.slo_minutes), _when(d.last_success_at),
             _minutes(d.latency_p95_minutes), f"{d.open_conflicts:,}",
             f"{d.quarantined:,}", exports or "—", d.reason], end_section=not d.flows)
        for i, f in enumerate(d.flows):
            row([f"  {f.flow}", "", _styled(f.status),
                 staleness_text(f.staleness_minutes, f.slo_minutes),
                 _when(f.last_success_at), _minutes(f.latency_p95_minutes),
                 f"{f.open_conflicts:,}", f"{f.quarantined:,}", "", flow_reason(f)],
                style="dim", end_section=i == len(d.flows) - 1)
    return table


def summary_line(board: StatusBoard) -> str:
    counts = {s: sum(d.status == s for d in board.domains) for s in STATUSES}
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    tiers = "/".join(board.paging_tiers) or "none"
    if board.paging:
        names = ", ".join(f"{d.domain} ({d.status})" for d in board.paging)
        return f"{parts}. PAGE: {names} — paging tiers {tiers}."
    return f"{parts}. Nothing to page (paging tiers {tiers}: failed or delayed)."
