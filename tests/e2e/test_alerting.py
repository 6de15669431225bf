"""Prometheus → Alertmanager → webhook, end to end on loopback.

A real Prometheus (Debian's package) scrapes `syncgov metrics --serve`, evaluates the rules
`syncgov alerts` generated and sends alerts to a real Alertmanager routed by the generated
configuration, whose team receivers post to a webhook server this test runs. The test turns
the inventory domain `delayed` in the warehouse's control tables (the status input the
metrics read on every scrape), waits for the alert to arrive grouped for the owning teams, then
recovers the domain and waits for the resolved notification.

The registry is the repository's, with the policy's alert timings shortened (grace 2s, group
wait 1s, group interval 2s) so the test takes seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
SYNCGOV = Path(sys.executable).with_name("syncgov")
DEADLINE_S = 60

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(PROMETHEUS is None or ALERTMANAGER is None,
                       reason="prometheus / alertmanager missing: apt-get install -y prometheus"
                              " prometheus-alertmanager (.ci/run does)"),
]

DOMAINS = yaml.safe_load((REPO / "registry" / "domains.yml").read_text())["domains"]
FLOWS = {"inventory": "wms__inventory_movements"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_control_tables(path: Path, statuses: dict[str, str]) -> None:
    """A warehouse whose control tables say `statuses` (domain -> status), written beside
    `path` and renamed over it, so a scrape never sees a half-written file."""
    now = datetime.now(UTC).replace(tzinfo=None)
    tmp = path.with_name(path.name + ".next")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        con.execute("create schema control; create schema staging")
        con.execute("""create table control.sync_health (
            level varchar, domain varchar, flow varchar, source_system varchar,
            criticality varchar, slo_minutes integer, last_success_at timestamp,
            last_success_batch_id varchar, latest_batch_status varchar,
            staleness_minutes integer, latency_p50_minutes double, latency_p95_minutes double,
            rows_landed bigint, duplicates bigint, quarantined bigint,
            unreconciled_batches bigint, drifted_keys bigint, open_conflicts bigint,
            first_unreconciled varchar, evaluated_at timestamp, status varchar,
            reason varchar)""")
        for domain, spec in DOMAINS.items():
            status = statuses.get(domain, "current")
            slo = int(spec["slo_minutes"])
            stale = slo * 3 if status == "delayed" else 1
            for level, flow in (("domain", None), ("flow", FLOWS.get(domain, f"x__{domain}"))):
                con.execute(
                    "insert into control.sync_health values"
                    " (?, ?, ?, ?, ?, ?, ?, 'b1', 'success', ?, 0.5, 0.9, 1000, 0, 1, 0, 0, 0,"
                    " null, ?, ?, ?)",
                    [level, domain, flow, flow.split("__")[0] if flow else None,
                     spec["criticality"], slo, now, stale, now, status,
                     f"{flow or domain}: {status}"])
        con.execute("""create table control.sync_reconciliation (landing_table varchar,
            batch_id varchar, reconciliation_status varchar, rows_sent bigint,
            rows_landed bigint, finished_at timestamp, is_reconciled boolean)""")
        con.execute("""create table control.sync_drift_summary (domain varchar,
            landing_table varchar, extracted_at timestamp, missing_in_warehouse bigint,
            missing_in_source bigint, mismatched_keys bigint, mismatched_fields bigint)""")
        con.execute("""create table control.sync_conflicts (conflict_id varchar,
            domain varchar, entity_key varchar, field varchar, owner_system varchar,
            owner_value varchar, other_system varchar, other_value varchar,
            other_event_at timestamp, status varchar)""")
        con.execute("""create table staging.stg__quarantine (domain varchar,
            landing_table varchar, _quarantine_reason varchar)""")
    finally:
        con.close()
    os.replace(tmp, path)


class Webhook:
    """A team-channel stand-in: records every Alertmanager notification by path."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with hook.lock:
                    hook.received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def notifications(self, path: str) -> list[dict]:
        with self.lock:
            return [body for p, body in self.received if p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(what: str, check: Callable[[], object], logs: list[Path]) -> object:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    tails = "\n".join(f"--- {p.name}\n" + p.read_text()[-3000:] for p in logs if p.exists())
    pytest.fail(f"timed out after {DEADLINE_S}s waiting for {what}\n{tails}")
    return None


def stale_alert(notification: dict, status: str) -> bool:
    return notification["groupLabels"].get("domain") == "inventory" and any(
        a["labels"]["alertname"] == "SyncgovDomainStale" and a["status"] == status
        and a["labels"].get("escalation_step") == "0"
        for a in notification["alerts"])


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict]:
    registry = tmp_path / "registry"
    shutil.copytree(REPO / "registry", registry)
    policy = registry / "policy.yml"
    text = policy.read_text()
    for key, value in (("grace", "2s"), ("group_wait", "1s"), ("group_interval", "2s"),
                       ("repeat_interval", "1h")):
        text = "\n".join(f"    {key}: {value}" if line.startswith(f"    {key}: ") else line
                         for line in text.splitlines()) + "\n"
    policy.write_text(text)
    warehouse = tmp_path / "syncgov.duckdb"
    write_control_tables(warehouse, {})
    webhook = Webhook()
    ports = {name: free_port() for name in ("metrics", "prometheus", "alertmanager")}
    alerts_dir = tmp_path / "alerts"
    subprocess.run(
        [str(SYNCGOV), "alerts", "--registry", str(registry), "--out", str(alerts_dir),
         "--webhook-template", f"http://127.0.0.1:{webhook.port}/{{team}}",
         "--smarthost", f"127.0.0.1:{free_port()}"],
        check=True, capture_output=True, timeout=60)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(alerts_dir / "syncgov-rules.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [
            {"targets": [f"127.0.0.1:{ports['alertmanager']}"]}]}]},
        "scrape_configs": [{"job_name": "syncgov", "static_configs": [
            {"targets": [f"127.0.0.1:{ports['metrics']}"]}]}],
    }))
    logs = {name: tmp_path / f"{name}.log" for name in ports}
    commands = {
        "metrics": [str(SYNCGOV), "metrics", "--serve", "--port", str(ports["metrics"]),
                    "--warehouse", str(warehouse), "--registry", str(registry)],
        "alertmanager": [ALERTMANAGER, f"--config.file={alerts_dir / 'alertmanager.yml'}",
                         f"--storage.path={tmp_path / 'am-data'}",
                         f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
                         "--cluster.listen-address="],
        "prometheus": [PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
                       f"--storage.tsdb.path={tmp_path / 'prom-data'}",
                       f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
                       "--rules.alert.resend-delay=1s"],
    }
    procs: list[subprocess.Popen] = []
    try:
        for name, cmd in commands.items():
            with logs[name].open("w") as log:
                procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                              cwd=tmp_path))
        yield {"warehouse": warehouse, "webhook": webhook, "ports": ports,
               "logs": list(logs.values())}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        webhook.close()


def prometheus_query(port: int, query: str) -> list[dict]:
    url = f"http://127.0.0.1:{port}/api/v1/query?query={urllib.parse.quote(query)}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return json.load(response)["data"]["result"]
    except OSError:
        return []


def test_a_delayed_domain_alerts_its_owners_and_resolves(stack) -> None:
    ports, webhook, logs = stack["ports"], stack["webhook"], stack["logs"]
    # Prometheus scrapes the endpoint and sees inventory current
    wait_for("Prometheus to scrape inventory as current", lambda: prometheus_query(
        ports["prometheus"],
        'syncgov_domain_status{domain="inventory",status="current"} == 1'), logs)
    assert not webhook.notifications("/data-platform")

    write_control_tables(stack["warehouse"], {"inventory": "delayed"})
    firing = wait_for("the firing notification at the data-platform receiver", lambda: [
        n for n in webhook.notifications("/data-platform") if stale_alert(n, "firing")], logs)
    first = firing[0]
    assert first["receiver"] == "data-platform"
    assert first["groupLabels"] == {"team": "data-platform", "domain": "inventory"}
    alert = next(a for a in first["alerts"] if a["labels"]["alertname"] == "SyncgovDomainStale")
    assert alert["labels"] | {"status": "delayed", "tier": "tier_1", "severity": "page",
                              "business_team": "fulfilment"} == alert["labels"]
    # the business owner's channel hears of it too, grouped by business team and domain
    business = wait_for("the notification at the fulfilment receiver", lambda: [
        n for n in webhook.notifications("/fulfilment") if stale_alert(n, "firing")], logs)
    assert business[0]["groupLabels"] == {"business_team": "fulfilment", "domain": "inventory"}
    # nobody else is told about inventory
    others = {p for p, n in webhook.received if n["groupLabels"].get("domain") == "inventory"}
    assert others == {"/data-platform", "/fulfilment"}

    write_control_tables(stack["warehouse"], {})
    resolved = wait_for("the resolved notification", lambda: [
        n for n in webhook.notifications("/data-platform") if stale_alert(n, "resolved")], logs)
    assert resolved[0]["groupLabels"] == {"team": "data-platform", "domain": "inventory"}
