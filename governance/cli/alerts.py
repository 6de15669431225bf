"""`syncgov alerts`: Prometheus alerting rules and Alertmanager routing from the registry."""

from __future__ import annotations

from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.cli.options import registry_option
from governance.errors import InputError, UsageError
from governance.observe.alerts import (
    DEFAULT_SMARTHOST,
    DEFAULT_SMTP_FROM,
    DEFAULT_WEBHOOK_TEMPLATE,
    alert_rules,
    alertmanager_config,
    render_yaml,
)
from governance.registry import load_registry

RULES_FILE = "syncgov-rules.yml"
ALERTMANAGER_FILE = "alertmanager.yml"


def _webhooks(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        team, sep, url = value.partition("=")
        if not sep or not team or not url:
            raise UsageError(f"--webhook: expected TEAM=URL, got {value!r}")
        out[team] = url
    return out


@click.command("alerts")
@registry_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("target/alerts"), show_default=True,
              help=f"Directory to write {RULES_FILE} (Prometheus rule_files) and"
                   f" {ALERTMANAGER_FILE} into.")
@click.option("--webhook", "webhooks", multiple=True, metavar="TEAM=URL",
              help="Webhook URL of a team's channel receiver (repeatable). Teams not named get"
                   " --webhook-template.")
@click.option("--webhook-template", default=DEFAULT_WEBHOOK_TEMPLATE, show_default=True,
              help="URL for teams without --webhook; {team} is replaced by the team id.")
@click.option("--smarthost", default=DEFAULT_SMARTHOST, show_default=True,
              help="SMTP host:port for the e-mails to escalation contacts.")
@click.option("--smtp-from", default=DEFAULT_SMTP_FROM, show_default=True,
              help="Sender address of the escalation e-mails.")
@handle_errors
def alerts_command(registry_dir: Path, out: Path, webhooks: tuple[str, ...],
                   webhook_template: str, smarthost: str, smtp_from: str) -> None:
    """Write Prometheus alerting rules over syncgov's metrics and an Alertmanager routing
    configuration, both derived from the registry.

    Rules per domain: SyncgovDomainStale (delayed or failed beyond the grace period),
    SyncgovDomainDegraded (partial or unknown), SyncgovSloFastBurn / SyncgovSloSlowBurn
    (error-budget burn over a long and a short window), SyncgovQuarantineRatioHigh,
    SyncgovVolumeAnomaly and SyncgovDeliveryFailing, labelled team (technical owner),
    business_team, tier, severity and escalation_step. Paging tiers get one more alert per
    step of the owners' escalation path, after the response times of the earlier steps.

    Routing: one webhook receiver per team channel, grouped by team and domain, repeated at
    the team's first response time; e-mail receivers for escalation contacts. Timings,
    grace period and thresholds come from `alerting` in registry/policy.yml.

    Check the output with `promtool check rules` and `amtool check-config`. Exit 2 on an
    unreadable registry or a malformed option.
    """
    registry = load_registry(registry_dir)
    rules = render_yaml(alert_rules(registry), source=registry_dir)
    routing = render_yaml(alertmanager_config(
        registry, webhooks=_webhooks(webhooks), webhook_template=webhook_template,
        smarthost=smarthost, smtp_from=smtp_from), source=registry_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / RULES_FILE).write_text(rules)
        (out / ALERTMANAGER_FILE).write_text(routing)
    except OSError as exc:
        raise InputError(f"{out}: cannot write ({exc.strerror})") from None
    click.echo(f"wrote {out / RULES_FILE} and {out / ALERTMANAGER_FILE}", err=True)


def register(main: click.Group) -> None:
    main.add_command(alerts_command)
