"""Prometheus alerting rules and an Alertmanager routing tree, generated from the registry.

Every rule reads a metric that `syncgov metrics` exports (or, for delivery failures, the
counter the delivery step exports, `DELIVERY_FAILURES_METRIC`) and carries who answers for it:
`team` is the domain's technical owner (they fix the sync, they are paged and escalated to),
`business_team` its business owner (told about what reaches the business), `tier` the
criticality and `severity` `page` or `ticket`. Routing sends each alert to the receiver of the
team's channel, grouped by team and domain, and escalates by time: for a paging tier, one more
alert per step of the owners' escalation path fires when the condition has lasted the grace
period plus the response times of the steps before it, and goes to that step's contact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from governance.errors import UsageError
from governance.owners import domain_owners
from governance.registry import RegistryFile
from governance.registry.model import Escalation
from governance.status import DEFAULT_PAGING_TIERS

Registry = dict[str, RegistryFile]

# The delivery step (`syncgov run`'s deliver stage) exports this counter per export, with the
# labels export, domain and system: delivery attempts that ended failed (a transport error or
# rows the target rejected).
DELIVERY_FAILURES_METRIC = "syncgov_export_delivery_failures_total"
# Exported by `syncgov metrics` from control.sync_volume_anomalies: 1 while a flow's latest
# volume is anomalous against its baseline.
VOLUME_ANOMALY_METRIC = "syncgov_flow_volume_anomaly"

ALERT_DEFAULTS: dict[str, Any] = {
    "grace": "10m",
    "slo_target": 0.99,
    "quarantine_ratio": 0.05,
    "delivery_window": "30m",
    "group_wait": "30s",
    "group_interval": "5m",
    "repeat_interval": "4h",
}
# Multiwindow, multi-burn-rate SLO alerts (Google SRE workbook, ch. 5): a long window that
# says the budget is really burning and a short one that says it still is (so the alert
# resolves soon after the burn stops).
BURN_WINDOWS = (
    ("SyncgovSloFastBurn", "1h", "5m", 14.4, "page"),
    ("SyncgovSloSlowBurn", "6h", "30m", 6.0, "ticket"),
)
DEFAULT_WEBHOOK_TEMPLATE = "https://alerts.example.invalid/syncgov/{team}"
DEFAULT_SMARTHOST = "localhost:25"
DEFAULT_SMTP_FROM = "syncgov-alertmanager@example.invalid"
UNROUTED = "syncgov-unrouted"
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class AlertSettings:
    """The policy's `alerting` block, with defaults."""

    grace: str
    slo_target: float
    quarantine_ratio: float
    delivery_window: str
    group_wait: str
    group_interval: str
    repeat_interval: str
    paging_tiers: tuple[str, ...]


def settings(registry: Registry) -> AlertSettings:
    policy = registry["policy"].data["policy"]
    block = {**ALERT_DEFAULTS, **dict(policy.get("alerting", {}))}
    for key in ("grace", "delivery_window", "group_wait", "group_interval", "repeat_interval"):
        seconds(block[key])  # raises UsageError on a malformed duration
    return AlertSettings(
        grace=block["grace"],
        slo_target=float(block["slo_target"]),
        quarantine_ratio=float(block["quarantine_ratio"]),
        delivery_window=block["delivery_window"],
        group_wait=block["group_wait"],
        group_interval=block["group_interval"],
        repeat_interval=block["repeat_interval"],
        paging_tiers=tuple(policy.get("paging_tiers", DEFAULT_PAGING_TIERS)),
    )


def seconds(duration: str) -> float:
    """A Prometheus duration with one unit (`90s`, `10m`, `4h`) in seconds."""
    match = _DURATION.match(str(duration))
    if not match:
        raise UsageError(f"policy.alerting: {duration!r} is not a duration like 30s, 10m or 4h")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def duration(total_seconds: float) -> str:
    """Seconds as the shortest exact Prometheus duration."""
    whole = round(total_seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


@dataclass(frozen=True)
class DomainAudience:
    domain: str
    tier: str
    team: str
    business_team: str
    pages: bool
    escalation: tuple[Escalation, ...]


def audiences(registry: Registry) -> tuple[DomainAudience, ...]:
    cfg = settings(registry)
    out = []
    for name, spec in registry["domains"].data["domains"].items():
        owners = domain_owners(registry, name)
        tier = str(spec.get("criticality", ""))
        out.append(DomainAudience(
            domain=name,
            tier=tier,
            team=owners.technical.name if owners else "",
            business_team=owners.business.name if owners else "",
            pages=tier in cfg.paging_tiers,
            escalation=owners.escalation if owners else (),
        ))
    return tuple(out)


# -- rules ----------------------------------------------------------------------------------


def alert_rules(registry: Registry) -> dict[str, Any]:
    """The Prometheus rule file: one group per domain."""
    cfg = settings(registry)
    return {"groups": [{"name": f"syncgov-{a.domain}", "rules": _domain_rules(a, cfg)}
                       for a in audiences(registry)]}


def _labels(a: DomainAudience, severity: str, step: int = 0) -> dict[str, str]:
    labels = {"domain": a.domain, "team": a.team, "business_team": a.business_team, "tier": a.tier,
              "severity": severity, "escalation_step": str(step)}
    if step:
        labels["escalation_contact"] = a.escalation[step - 1].contact
    return labels


def _escalated(rule: dict[str, Any], a: DomainAudience, grace: str) -> list[dict[str, Any]]:
    """The rule, then one copy per escalation step firing after the earlier steps' response
    times have passed on top of the grace period."""
    rules = [rule]
    delay = seconds(grace)
    for step, contact in enumerate(a.escalation, start=1):
        rules.append({
            **rule,
            "for": duration(delay),
            "labels": _labels(a, rule["labels"]["severity"], step),
            "annotations": {**rule["annotations"], "summary": rule["annotations"]["summary"]
                            + f" (escalation {step}: {contact.contact})"},
        })
        delay += contact.within_minutes * 60
    return rules


def _domain_rules(a: DomainAudience, cfg: AlertSettings) -> list[dict[str, Any]]:
    d = a.domain
    sel = f'domain="{d}"'
    page_or_ticket = "page" if a.pages else "ticket"
    stale = {
        "alert": "SyncgovDomainStale",
        "expr": f'max by (domain, status) (syncgov_domain_status{{{sel}, status=~"delayed|failed"}})'
                " == 1",
        "for": cfg.grace,
        "labels": _labels(a, page_or_ticket),
        "annotations": {
            "summary": f"{d} is delayed or failed",
            "description": f"Domain {d} ({a.tier}) has been delayed (older than its SLO) or failed"
                           f" for more than {cfg.grace}. `syncgov status` gives the reason.",
        },
    }
    degraded = {
        "alert": "SyncgovDomainDegraded",
        "expr": f'max by (domain, status) (syncgov_domain_status{{{sel}, status=~"partial|unknown"}})'
                " == 1",
        "for": cfg.grace,
        "labels": _labels(a, "ticket"),
        "annotations": {
            "summary": f"{d} is partial or unknown",
            "description": f"Domain {d} has had unreconciled batches (partial) or no ledger entry"
                           f" (unknown) for more than {cfg.grace}.",
        },
    }
    rules = _escalated(stale, a, cfg.grace) if a.pages else [stale]
    rules.append(degraded)
    budget = round(1 - cfg.slo_target, 6)
    for name, long, short, factor, severity in BURN_WINDOWS:
        def burn(window: str, factor: float = factor) -> str:
            return (f'(1 - max by (domain) (avg_over_time(syncgov_domain_status{{{sel},'
                    f' status="current"}}[{window}]))) / {budget} > {factor}')

        rule = {
            "alert": name,
            "expr": f"{burn(long)} and {burn(short)}",
            "labels": _labels(a, severity if a.pages else "ticket"),
            "annotations": {
                "summary": f"{d} burns its error budget {factor}x too fast",
                "description": f"Domain {d} was current less than its SLO target"
                               f" ({cfg.slo_target}) allows, {factor} times the sustainable rate"
                               f" over the last {long} and still over the last {short}.",
            },
        }
        rules.extend(_escalated(rule | {"for": "0s"}, a, "0s")
                     if a.pages and severity == "page" else [rule])
    rules.append({
        "alert": "SyncgovQuarantineRatioHigh",
        "expr": f"sum by (domain) (syncgov_flow_quarantined_rows{{{sel}}})"
                f" / sum by (domain) (syncgov_flow_landed_rows{{{sel}}} > 0)"
                f" > {cfg.quarantine_ratio}",
        "for": cfg.grace,
        "labels": _labels(a, "ticket"),
        "annotations": {
            "summary": f"{d}: more than {cfg.quarantine_ratio:.0%} of landed rows quarantined",
            "description": f"Invalid events held back in staging exceed {cfg.quarantine_ratio:.0%}"
                           f" of the rows landed for {d}; see the report's quarantine section.",
        },
    })
    rules.append({
        "alert": "SyncgovVolumeAnomaly",
        "expr": f"max by (domain, flow) ({VOLUME_ANOMALY_METRIC}{{{sel}}}) == 1",
        "for": cfg.grace,
        "labels": _labels(a, page_or_ticket),
        "annotations": {
            "summary": f"{d}: a flow delivers an unusual number of rows",
            "description": f"A flow of {d} landed a batch volume outside its baseline"
                           " (control.sync_volume_anomalies).",
        },
    })
    rules.append({
        "alert": "SyncgovDeliveryFailing",
        "expr": f"sum by (domain, export) (increase({DELIVERY_FAILURES_METRIC}{{{sel}}}"
                f"[{cfg.delivery_window}])) > 0",
        "labels": _labels(a, "ticket"),
        "annotations": {
            "summary": f"{d}: an export delivery failed",
            "description": f"An export reading {d} had failed deliveries in the last"
                           f" {cfg.delivery_window} (rejected rows or transport errors).",
        },
    })
    return rules


# -- routing --------------------------------------------------------------------------------


def team_receiver(team: str) -> str:
    return team


def escalation_receiver(team: str, step: int) -> str:
    return f"{team}-escalation-{step}"


def alertmanager_config(registry: Registry, *, webhooks: dict[str, str] | None = None,
                        webhook_template: str = DEFAULT_WEBHOOK_TEMPLATE,
                        smarthost: str = DEFAULT_SMARTHOST,
                        smtp_from: str = DEFAULT_SMTP_FROM) -> dict[str, Any]:
    """The Alertmanager configuration: a webhook receiver per team channel, e-mail receivers
    per escalation contact, a route per technical and per business team."""
    webhooks = webhooks or {}
    teams = registry["teams"].data["teams"]
    unknown = sorted(set(webhooks) - set(teams))
    if unknown:
        raise UsageError(f"--webhook: no such team: {', '.join(unknown)}")
    cfg = settings(registry)
    domains = audiences(registry)
    receivers: list[dict[str, Any]] = [{"name": UNROUTED}]
    technical_routes: list[dict[str, Any]] = []
    business_routes: list[dict[str, Any]] = []
    for name, spec in teams.items():
        url = webhooks.get(name) or webhook_template.replace("{team}", name)
        receivers.append({"name": team_receiver(name), "webhook_configs": [
            {"url": url, "send_resolved": True}]})
        escalation = tuple(spec.get("escalation", ()))
        first_response = int(escalation[0]["within_minutes"]) * 60 if escalation else None
        # The channel is reminded at the pace the team promised to respond, never slower than
        # the policy's repeat interval.
        repeat = cfg.repeat_interval if first_response is None else duration(
            min(first_response, seconds(cfg.repeat_interval)))
        steps = max((len(d.escalation) for d in domains if d.team == name and d.pages), default=0)
        children = []
        for step in range(1, steps + 1):
            contacts = sorted({d.escalation[step - 1].contact for d in domains
                               if d.team == name and d.pages and len(d.escalation) >= step})
            for contact in contacts:
                receiver = escalation_receiver(name, step) + (
                    f"-{contacts.index(contact) + 1}" if len(contacts) > 1 else "")
                receivers.append({"name": receiver, "email_configs": [
                    {"to": contact, "send_resolved": True}]})
                children.append({"receiver": receiver, "matchers": [
                    f'escalation_step="{step}"', f'escalation_contact="{contact}"']})
        if any(d.team == name for d in domains):
            technical_routes.append({
                "receiver": team_receiver(name), "matchers": [f'team="{name}"'],
                "group_by": ["team", "domain"], "repeat_interval": repeat, "continue": True,
                **({"routes": children} if children else {}),
            })
        if any(d.business_team == name for d in domains):
            business_routes.append({
                "receiver": team_receiver(name),
                "matchers": [f'business_team="{name}"', 'escalation_step="0"'],
                "group_by": ["business_team", "domain"], "repeat_interval": cfg.repeat_interval,
                "continue": True,
            })
    return {
        "global": {"smtp_smarthost": smarthost, "smtp_from": smtp_from,
                   "smtp_require_tls": False},
        "route": {
            "receiver": UNROUTED,
            "group_by": ["team", "domain"],
            "group_wait": cfg.group_wait,
            "group_interval": cfg.group_interval,
            "repeat_interval": cfg.repeat_interval,
            "routes": technical_routes + business_routes,
        },
        "inhibit_rules": [{
            # a domain that is delayed or failed says it all; its burn alerts would repeat it
            "source_matchers": ['alertname="SyncgovDomainStale"'],
            "target_matchers": ['alertname=~"SyncgovSlo(Fast|Slow)Burn"'],
            "equal": ["domain", "escalation_step"],
        }],
        "receivers": receivers,
    }


def render_yaml(document: dict[str, Any], *, source: object) -> str:
    """YAML with a header saying where it came from (generated files say so)."""
    header = (f"# Generated by `syncgov alerts` from {source}/ - do not edit; change the"
              " registry and generate again.\n")
    return header + yaml.safe_dump(document, sort_keys=False, width=100, allow_unicode=True)
