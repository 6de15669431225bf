"""The generated alert rules and routing, judged by the real Prometheus tools: `promtool check
rules`, `promtool test rules` (every alert of every domain fires, escalates and resolves) and
`amtool check-config` / `amtool config routes test` (each alert reaches its owners).

The expected labels, escalation delays and receivers are read from the registry YAML here,
independently of governance.observe.alerts.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from governance.cli import main
from governance.observe.alerts import alert_rules, alertmanager_config, render_yaml
from governance.registry import load_registry

REPO = Path(__file__).resolve().parents[3]
PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing: apt-get install -y prometheus (.ci/run does)")
needs_amtool = pytest.mark.skipif(
    AMTOOL is None,
    reason="amtool missing: apt-get install -y prometheus-alertmanager (.ci/run does)")

RAW = {kind: yaml.safe_load((REPO / "registry" / f"{kind}.yml").read_text())
       for kind in ("domains", "teams", "policy")}
DOMAINS = RAW["domains"]["domains"]
TEAMS = RAW["teams"]["teams"]
POLICY = RAW["policy"]["policy"]
GRACE_MIN = int(POLICY["alerting"]["grace"].removesuffix("m"))
PAGING = set(POLICY["paging_tiers"])


def expected_labels(domain: str, severity_if_paging: str, step: int = 0) -> dict[str, str]:
    spec = DOMAINS[domain]
    paging = spec["criticality"] in PAGING
    labels = {"domain": domain, "team": spec["owners"]["technical"],
              "business_team": spec["owners"]["business"], "tier": spec["criticality"],
              "severity": severity_if_paging if paging else "ticket",
              "escalation_step": str(step)}
    if step:
        labels["escalation_contact"] = escalation_path(domain)[step - 1][0]
    return labels


def escalation_path(domain: str) -> list[tuple[str, int]]:
    """The technical team's escalation, then the business team's new contacts."""
    owners = DOMAINS[domain]["owners"]
    path: list[tuple[str, int]] = []
    for team in (owners["technical"], owners["business"]):
        for e in TEAMS[team]["escalation"]:
            if (e["contact"], e["within_minutes"]) not in path:
                path.append((e["contact"], e["within_minutes"]))
    return path


def step_delays(domain: str, base: int) -> list[int]:
    """Minutes after which each escalation step fires: base, then + each earlier response."""
    delays, delay = [], base
    for _, within in escalation_path(domain):
        delays.append(delay)
        delay += within
    return delays


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("alerts")
    registry = load_registry(REPO / "registry")
    (out / "syncgov-rules.yml").write_text(render_yaml(alert_rules(registry), source="registry"))
    (out / "alertmanager.yml").write_text(
        render_yaml(alertmanager_config(registry), source="registry"))
    rules = yaml.safe_load((out / "syncgov-rules.yml").read_text())
    annotations = {(g["name"].removeprefix("syncgov-"), r["alert"], r["labels"]["escalation_step"]):
                   r["annotations"] for g in rules["groups"] for r in g["rules"]}
    return out, annotations


def _alerts(annotations: dict, domain: str, name: str, labels: list[dict[str, str]]) -> list[dict]:
    return [{"exp_labels": lab, "exp_annotations": annotations[(domain, name,
                                                                 lab["escalation_step"])]}
            for lab in labels]


def _series(name: str, values: str, **labels: str) -> dict[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def unit_tests(domain: str, annotations: dict) -> list[dict[str, Any]]:
    """One promtool test per alert: quiet before, firing (with each escalation step when it is
    due), resolved after."""
    tier = DOMAINS[domain]["criticality"]
    paging = tier in PAGING
    g = GRACE_MIN
    tests = []

    # status delayed from minute 5 for long enough that every escalation step fires
    delays = step_delays(domain, g) if paging else []
    outage = (delays[-1] if delays else g) + 10
    end = 5 + outage
    stale_steps = [expected_labels(domain, "page") | {"status": "delayed"}]
    all_steps = stale_steps + [expected_labels(domain, "page", i + 1) | {"status": "delayed"}
                               for i in range(len(delays))]
    early_steps = stale_steps + [expected_labels(domain, "page", i + 1) | {"status": "delayed"}
                                 for i, d in enumerate(delays) if d <= g + 1]
    tests.append({"name": f"{domain}: stale fires after the grace period, escalates, resolves",
                  "interval": "1m",
                  "input_series": [
                      _series("syncgov_domain_status", f"0x4 1x{outage} 0x20", domain=domain,
                              criticality=tier, status="delayed"),
                      _series("syncgov_domain_status", f"1x4 0x{outage} 1x20", domain=domain,
                              criticality=tier, status="current")],
                  "alert_rule_test": [
                      {"eval_time": f"{5 + g - 1}m", "alertname": "SyncgovDomainStale",
                       "exp_alerts": []},
                      {"eval_time": f"{5 + g + 1}m", "alertname": "SyncgovDomainStale",
                       "exp_alerts": _alerts(annotations, domain, "SyncgovDomainStale",
                                             early_steps)},
                      {"eval_time": f"{end - 1}m", "alertname": "SyncgovDomainStale",
                       "exp_alerts": _alerts(annotations, domain, "SyncgovDomainStale",
                                             all_steps)},
                      {"eval_time": f"{end + 2}m", "alertname": "SyncgovDomainStale",
                       "exp_alerts": []},
                      {"eval_time": f"{end - 1}m", "alertname": "SyncgovDomainDegraded",
                       "exp_alerts": []}]})

    partial = [expected_labels(domain, "ticket") | {"status": "partial"}]
    tests.append({"name": f"{domain}: partial fires after the grace period, resolves",
                  "interval": "1m",
                  "input_series": [_series("syncgov_domain_status", "0x4 1x30 0x10",
                                           domain=domain, criticality=tier, status="partial")],
                  "alert_rule_test": [
                      {"eval_time": f"{5 + g - 1}m", "alertname": "SyncgovDomainDegraded",
                       "exp_alerts": []},
                      {"eval_time": f"{5 + g + 1}m", "alertname": "SyncgovDomainDegraded",
                       "exp_alerts": _alerts(annotations, domain, "SyncgovDomainDegraded",
                                             partial)},
                      {"eval_time": "40m", "alertname": "SyncgovDomainDegraded",
                       "exp_alerts": []},
                      {"eval_time": f"{5 + g + 1}m", "alertname": "SyncgovDomainStale",
                       "exp_alerts": []}]})

    # fast burn: current for an hour, then 15 minutes not current, then current again
    fast = [expected_labels(domain, "page")]
    fast += [expected_labels(domain, "page", i + 1)
             for i, d in enumerate(step_delays(domain, 0) if paging else []) if d == 0]
    tests.append({"name": f"{domain}: fast burn over 1h and 5m fires and resolves",
                  "interval": "1m",
                  "input_series": [_series("syncgov_domain_status", "1x60 0x15 1x60",
                                           domain=domain, criticality=tier, status="current")],
                  "alert_rule_test": [
                      {"eval_time": "62m", "alertname": "SyncgovSloFastBurn", "exp_alerts": []},
                      {"eval_time": "72m", "alertname": "SyncgovSloFastBurn",
                       "exp_alerts": _alerts(annotations, domain, "SyncgovSloFastBurn", fast)},
                      {"eval_time": "82m", "alertname": "SyncgovSloFastBurn",
                       "exp_alerts": []}]})

    slow = [expected_labels(domain, "ticket")]
    tests.append({"name": f"{domain}: slow burn over 6h and 30m fires and resolves",
                  "interval": "1m",
                  "input_series": [_series("syncgov_domain_status", "1x360 0x40 1x60",
                                           domain=domain, criticality=tier, status="current")],
                  "alert_rule_test": [
                      {"eval_time": "370m", "alertname": "SyncgovSloSlowBurn", "exp_alerts": []},
                      {"eval_time": "395m", "alertname": "SyncgovSloSlowBurn",
                       "exp_alerts": _alerts(annotations, domain, "SyncgovSloSlowBurn", slow)},
                      {"eval_time": "432m", "alertname": "SyncgovSloSlowBurn",
                       "exp_alerts": []}]})

    quarantine = [expected_labels(domain, "ticket")]
    tests.append({"name": f"{domain}: quarantine ratio above the policy fires and resolves",
                  "interval": "1m",
                  "input_series": [
                      _series("syncgov_flow_quarantined_rows", "1x10 10x30 1x20", domain=domain,
                              flow="x__y", system="x"),
                      _series("syncgov_flow_landed_rows", "100x60", domain=domain, flow="x__y",
                              system="x")],
                  "alert_rule_test": [
                      {"eval_time": f"{11 + g - 2}m", "alertname": "SyncgovQuarantineRatioHigh",
                       "exp_alerts": []},
                      {"eval_time": f"{11 + g + 1}m", "alertname": "SyncgovQuarantineRatioHigh",
                       "exp_alerts": _alerts(annotations, domain, "SyncgovQuarantineRatioHigh",
                                             quarantine)},
                      {"eval_time": "45m", "alertname": "SyncgovQuarantineRatioHigh",
                       "exp_alerts": []}]})

    volume = [expected_labels(domain, "page") | {"flow": "x__y"}]
    tests.append({"name": f"{domain}: volume anomaly fires after the grace period, resolves",
                  "interval": "1m",
                  "input_series": [_series("syncgov_flow_volume_anomaly", "0x4 1x30 0x10",
                                           domain=domain, flow="x__y", system="x")],
                  "alert_rule_test": [
                      {"eval_time": f"{5 + g - 1}m", "alertname": "SyncgovVolumeAnomaly",
                       "exp_alerts": []},
                      {"eval_time": f"{5 + g + 1}m", "alertname": "SyncgovVolumeAnomaly",
                       "exp_alerts": _alerts(annotations, domain, "SyncgovVolumeAnomaly",
                                             volume)},
                      {"eval_time": "40m", "alertname": "SyncgovVolumeAnomaly",
                       "exp_alerts": []}]})

    delivery = [expected_labels(domain, "ticket") | {"export": "exp_a"}]
    tests.append({"name": f"{domain}: a failed delivery fires for the window, then resolves",
                  "interval": "1m",
                  "input_series": [_series("syncgov_export_delivery_failures_total",
                                           "0x10 1x50", export="exp_a", domain=domain,
                                           system="x")],
                  "alert_rule_test": [
                      {"eval_time": "9m", "alertname": "SyncgovDeliveryFailing",
                       "exp_alerts": []},
                      {"eval_time": "20m", "alertname": "SyncgovDeliveryFailing",
                       "exp_alerts": _alerts(annotations, domain, "SyncgovDeliveryFailing",
                                             delivery)},
                      {"eval_time": "45m", "alertname": "SyncgovDeliveryFailing",
                       "exp_alerts": []}]})
    return tests


@needs_promtool
def test_promtool_check_rules_accepts_the_generated_rules(generated) -> None:
    out, _ = generated
    result = subprocess.run([PROMTOOL, "check", "rules", str(out / "syncgov-rules.yml")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # every domain gets its seven alerts; paging tiers their escalation steps on top
    paging = [d for d, s in DOMAINS.items() if s["criticality"] in PAGING]
    steps = sum(2 * len(escalation_path(d)) for d in paging)
    assert f"SUCCESS: {7 * len(DOMAINS) + steps} rules found" in result.stdout


@needs_promtool
@pytest.mark.parametrize("domain", list(DOMAINS))
def test_promtool_unit_tests_fire_and_resolve_every_alert(generated, domain: str) -> None:
    out, annotations = generated
    test_file = out / f"{domain}.test.yml"
    test_file.write_text(yaml.safe_dump({
        "rule_files": ["syncgov-rules.yml"], "evaluation_interval": "1m",
        "tests": unit_tests(domain, annotations)}, sort_keys=False))
    result = subprocess.run([PROMTOOL, "test", "rules", str(test_file)], capture_output=True,
                            text=True, timeout=120, check=False, cwd=out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


@needs_amtool
def test_amtool_accepts_the_default_placeholders(generated) -> None:
    out, _ = generated
    result = subprocess.run([AMTOOL, "check-config", str(out / "alertmanager.yml")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(TEAMS) + 1}" in result.stdout or "receivers" in result.stdout


def _routes(config: Path, **labels: str) -> list[str]:
    result = subprocess.run(
        [AMTOOL, "config", "routes", "test", f"--config.file={config}",
         *(f"{k}={v}" for k, v in labels.items())],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().split(",")


@needs_amtool
@pytest.mark.parametrize("domain", list(DOMAINS))
def test_each_alert_reaches_its_owners_and_escalation_contacts(generated, domain: str) -> None:
    out, _ = generated
    config = out / "alertmanager.yml"
    spec = DOMAINS[domain]
    base = {"alertname": "SyncgovDomainStale", "domain": domain,
            "team": spec["owners"]["technical"], "business_team": spec["owners"]["business"],
            "tier": spec["criticality"]}
    assert _routes(config, **base, escalation_step="0") == [
        spec["owners"]["technical"], spec["owners"]["business"]]
    if spec["criticality"] not in PAGING:
        return
    routed = yaml.safe_load(config.read_text())
    emails = {r["name"]: r["email_configs"][0]["to"] for r in routed["receivers"]
              if "email_configs" in r}
    for step, (contact, _) in enumerate(escalation_path(domain), start=1):
        [receiver] = _routes(config, **base, escalation_step=str(step),
                             escalation_contact=contact)
        assert emails[receiver] == contact


@needs_amtool
def test_cli_writes_both_files_with_the_webhooks_given(tmp_path: Path) -> None:
    code = main.main(["alerts", "--registry", str(REPO / "registry"), "--out", str(tmp_path),
                      "--webhook", "fulfilment=http://127.0.0.1:9/hook",
                      "--webhook-template", "http://chat.example.invalid/{team}"],
                     standalone_mode=False)
    assert code in (None, 0)
    config = yaml.safe_load((tmp_path / "alertmanager.yml").read_text())
    urls = {r["name"]: r["webhook_configs"][0]["url"] for r in config["receivers"]
            if "webhook_configs" in r}
    assert urls["fulfilment"] == "http://127.0.0.1:9/hook"
    assert urls["finance"] == "http://chat.example.invalid/finance"
    assert set(urls) == set(TEAMS)
    assert config["route"]["group_by"] == ["team", "domain"]
    result = subprocess.run([AMTOOL, "check-config", str(tmp_path / "alertmanager.yml")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout
    assert (tmp_path / "syncgov-rules.yml").read_text().startswith("# Generated by `syncgov alerts`")


def test_cli_rejects_a_webhook_for_an_unknown_team(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["alerts", "--registry", str(REPO / "registry"),
                                       "--out", str(tmp_path), "--webhook", "nobody=http://x"])
    assert result.exit_code == 2
    assert "no such team: nobody" in result.output


def test_a_malformed_policy_duration_is_a_usage_error(tmp_path: Path) -> None:
    shutil.copytree(REPO / "registry", tmp_path / "registry")
    policy = tmp_path / "registry" / "policy.yml"
    policy.write_text(policy.read_text().replace("grace: 10m", "grace: 10 minutes"))
    result = CliRunner().invoke(main, ["alerts", "--registry", str(tmp_path / "registry"),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "grace" in result.output
