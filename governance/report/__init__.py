"""The HTML health report: one self-contained file a business stakeholder can open offline.

Everything is inline — CSS, SVG charts, no script, no web font, no external reference — so
the file can be mailed, attached to a ticket or served as is. It shows a status board per
domain with owners and escalation contacts, SLO attainment and error-budget burn, propagation
latency over time, what each unhealthy domain puts at risk downstream, export gates,
reconciliation, drift, open conflicts, quarantine and the review calendar.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from governance.control_tables import ControlSnapshot
from governance.errors import InputError
from governance.impact import Impact, impact
from governance.owners import Owners, domain_owners
from governance.registry import RegistryFile
from governance.report import charts
from governance.report.slo import DEFAULT_TARGET, minute_attainment, plain
from governance.review_calendar import ReviewEntry, calendar
from governance.status import DomainStatus, flow_reason, staleness_text, status_board

Registry = dict[str, RegistryFile]
STATUS_WORDS = {
    "current": "Current — within its freshness promise",
    "partial": "Partial — data arrived with gaps (missing or incomplete batches) or far fewer"
               " rows than usual",
    "delayed": "Delayed — older than its freshness promise (SLO)",
    "failed": "Failed — the latest load failed or none ever succeeded",
    "unknown": "Unknown — no load recorded yet",
}


@dataclass(frozen=True)
class DomainCard:
    status: DomainStatus
    owners: Owners | None
    impact: Impact | None
    latency_svg: str


def _env() -> Environment:
    env = Environment(loader=PackageLoader("governance.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["minutes"] = lambda v: staleness_text(v, None)
    env.filters["when"] = lambda v: v.strftime("%Y-%m-%d %H:%M UTC") if v else "never"
    env.filters["num"] = lambda v: "—" if v is None else f"{v:,}"
    env.filters["pct"] = lambda v: "—" if v is None else f"{v:.1%}"
    env.filters["words"] = lambda v: str(v).replace("_", " ")
    env.filters["plain"] = plain
    env.filters["hours"] = lambda v: f"{v / 60:,.1f} h"
    env.globals["staleness"] = staleness_text
    env.globals["flow_reason"] = flow_reason
    return env


def build_report(snapshot: ControlSnapshot, registry: Registry, manifest: dict | None, *,
                 today: date | None = None, generated_at: datetime | None = None) -> str:
    """The report as one HTML document."""
    board = status_board(snapshot, registry)
    day = today or date.today()
    cards = []
    for d in board.domains:
        history = [h for h in snapshot.history if h.domain == d.domain]
        result = None
        if manifest is not None and not d.healthy and d.domain in registry["domains"].data["domains"]:
            result = impact(d.domain, registry, manifest)
        cards.append(DomainCard(d, domain_owners(registry, d.domain), result,
                                charts.latency_chart(d.domain, history, d.slo_minutes)))
    quarantine_by_reason = Counter()
    for q in snapshot.quarantine:
        quarantine_by_reason[q.reason] += q.events
    reviews: tuple[ReviewEntry, ...] = calendar(registry, day)
    target = snapshot.attainment[0].slo_target if snapshot.attainment else float(
        registry["policy"].data["policy"].get("alerting", {}).get("slo_target", DEFAULT_TARGET))
    slo = minute_attainment(snapshot.history, target)
    return _env().get_template("report.html.j2").render(
        board=board,
        snapshot=snapshot,
        cards=cards,
        unhealthy=[c for c in cards if not c.status.healthy],
        status_words=STATUS_WORDS,
        counts=Counter(d.status for d in board.domains),
        slo=slo,
        attainment_svg=charts.attainment_chart(slo) if slo else None,
        burn_svg=charts.burn_chart(slo) if slo else None,
        quarantine_svg=charts.quarantine_chart(quarantine_by_reason.most_common())
        if quarantine_by_reason else None,
        quarantine_total=sum(quarantine_by_reason.values()),
        reviews=reviews,
        today=day,
        manifest_present=manifest is not None,
        generated_at=generated_at or datetime.now(UTC).replace(tzinfo=None),
        status_colors=charts.STATUS_COLORS,
    )


def write_report(html: str, path: Path) -> Path:
    """Write atomically, so a browser or a web server never serves half a report."""
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(html)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror})") from None
    return path


__all__ = ["build_report", "write_report"]
