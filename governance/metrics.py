"""Sync health as Prometheus metrics, in the text exposition format that node-exporter's
textfile collector (and any scraper) reads.

Every value comes from the status board, i.e. from control.sync_health as of the last `dbt
build`: `syncgov_health_evaluated_timestamp_seconds` says when that was, so an alert can tell
"the data is stale" from "the check stopped running". Status-like values follow the
Prometheus enum convention: one series per possible value, 1 for the current one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, write_to_textfile
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from governance.control_tables import Attainment
from governance.errors import InputError
from governance.export_verdicts import VERDICTS
from governance.exports.outbound_health import OutboundHealth
from governance.status import STATUSES, StatusBoard

PREFIX = "syncgov"


def _seconds(minutes: float | None) -> float | None:
    return None if minutes is None else float(minutes) * 60


def _timestamp(value: datetime | None) -> float | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


class _BoardCollector(Collector):
    """Yields the metric families of one status board (a custom collector: no global state)."""

    def __init__(self, board: StatusBoard, attainment: tuple[Attainment, ...]) -> None:
        self.board = board
        self.attainment = attainment

    def collect(self) -> Iterator[GaugeMetricFamily]:
        board = self.board
        evaluated = GaugeMetricFamily(
            f"{PREFIX}_health_evaluated_timestamp_seconds",
            "When control.sync_health was last computed (end of the last dbt build), Unix time.")
        if board.evaluated_at:
            evaluated.add_metric([], _timestamp(board.evaluated_at))
        yield evaluated
        yield from self._domains()
        yield from self._flows()
        yield from self._attainment()
        yield from self._exports()

    def _domains(self) -> Iterator[GaugeMetricFamily]:
        labels = ["domain", "criticality"]
        status = GaugeMetricFamily(f"{PREFIX}_domain_status", "1 for the domain's current status"
                                   " (current, partial, delayed, failed, unknown), else 0.",
                                   labels=[*labels, "status"])
        paging = GaugeMetricFamily(f"{PREFIX}_domain_paging", "1 when the domain is failed or"
                                   " delayed and its tier is a paging tier, else 0.", labels=labels)
        stale = GaugeMetricFamily(f"{PREFIX}_domain_staleness_seconds", "Age of the domain's"
                                  " stalest flow's last successful batch at evaluation.",
                                  labels=labels)
        slo = GaugeMetricFamily(f"{PREFIX}_domain_slo_seconds", "The domain's latency SLO.",
                                labels=labels)
        last = GaugeMetricFamily(f"{PREFIX}_domain_last_success_timestamp_seconds",
                                 "Finish time of the stalest flow's last successful batch.",
                                 labels=labels)
        for d in self.board.domains:
            values = [d.domain, d.criticality or ""]
            for s in STATUSES:
                status.add_metric([*values, s], 1.0 if d.status == s else 0.0)
            paging.add_metric(values, 1.0 if d.pages else 0.0)
            _add(stale, values, _seconds(d.staleness_minutes))
            _add(slo, values, _seconds(d.slo_minutes))
            _add(last, values, _timestamp(d.last_success_at))
        yield from (status, paging, stale, slo, last)

    def _flows(self) -> Iterator[GaugeMetricFamily]:
        labels = ["domain", "flow", "system"]

        def family(name: str, doc: str, extra: tuple[str, ...] = ()) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"{PREFIX}_flow_{name}", doc, labels=[*labels, *extra])

        status = family("status", "1 for the flow's current status, else 0.", ("status",))
        stale = family("staleness_seconds", "Age of the flow's last successful batch.")
        slo = family("slo_seconds", "The latency SLO of the flow's domain.")
        last = family("last_success_timestamp_seconds", "Finish time of the last successful batch.")
        latency = family("propagation_latency_seconds", "Source event time to load time of valid"
                         " events loaded in the health window, by quantile.", ("quantile",))
        counts = {
            "landed_rows": ("rows_landed", "Rows landed (every delivery, duplicates included)."),
            "duplicate_rows": ("duplicates", "Landed rows that were redeliveries of an event id."),
            "quarantined_rows": ("quarantined", "Events held back as invalid."),
            "open_conflicts": ("open_conflicts", "Conflicting writes awaiting manual review."),
            "unreconciled_batches": ("unreconciled_batches",
                                     "Batches in the health window that did not reconcile."),
            "drifted_keys": ("drifted_keys", "Keys that differ from the source's latest extract."),
        }
        count_families = {name: family(name, doc) for name, (_, doc) in counts.items()}
        volume = family("volume_anomaly", "1 while the flow's latest batch volume is an anomaly"
                        " against its baseline (control.sync_volume_anomalies), else 0; absent"
                        " until the flow has enough history.")
        for d in self.board.domains:
            for f in d.flows:
                values = [d.domain, f.flow, f.system or ""]
                for s in STATUSES:
                    status.add_metric([*values, s], 1.0 if f.status == s else 0.0)
                _add(stale, values, _seconds(f.staleness_minutes))
                _add(slo, values, _seconds(f.slo_minutes))
                _add(last, values, _timestamp(f.last_success_at))
                _add(latency, [*values, "0.5"], _seconds(f.latency_p50_minutes))
                _add(latency, [*values, "0.95"], _seconds(f.latency_p95_minutes))
                for name, (attr, _) in counts.items():
                    count_families[name].add_metric(values, float(getattr(f, attr)))
                if f.volume_judged:
                    volume.add_metric(values, 1.0 if f.volume_anomaly else 0.0)
        yield from (status, stale, slo, last, latency, *count_families.values(), volume)

    def _attainment(self) -> Iterator[GaugeMetricFamily]:
        labels = ["domain", "period"]
        attained = GaugeMetricFamily(f"{PREFIX}_slo_attainment_ratio", "Share of health"
                                     " observations in which the domain was current.", labels=labels)
        burn = GaugeMetricFamily(f"{PREFIX}_error_budget_burn_ratio", "(1 - attainment) /"
                                 " (1 - target); above 1 the budget runs out early.", labels=labels)
        for a in self.attainment:
            period = f"{a.period_days}d"
            attained.add_metric([a.domain, period], a.attainment)
            burn.add_metric([a.domain, period], a.error_budget_burn)
        yield from (attained, burn)

    def _exports(self) -> Iterator[GaugeMetricFamily]:
        labels = ["export", "domain", "system"]
        verdict = GaugeMetricFamily(f"{PREFIX}_export_verdict", "1 for the export's latest gate"
                                    " verdict (publishable, warn, blocked, not_evaluated), else 0.",
                                    labels=[*labels, "verdict"])
        when = GaugeMetricFamily(f"{PREFIX}_export_evaluated_timestamp_seconds",
                                 "When the export's gate was last evaluated.", labels=labels)
        for e in self.board.exports:
            values = [e.export_id, e.domain, e.target_system]
            for v in VERDICTS:
                verdict.add_metric([*values, v], 1.0 if e.verdict == v else 0.0)
            _add(when, values, _timestamp(e.evaluated_at))
        yield from (verdict, when)


def _add(family: GaugeMetricFamily, labels: list[str], value: float | None) -> None:
    """Unknown values are left out (absent series), not written as 0."""
    if value is not None:
        family.add_metric(labels, value)


class _OutboundCollector(Collector):
    """Outbound health per export (governance.exports.outbound_health): one-hot status with its
    cause, dead letters by state, and when the target last confirmed a delivery."""

    STATUSES = ("current", "delayed", "partial", "failed")

    def __init__(self, outbound: tuple[OutboundHealth, ...]) -> None:
        self.outbound = outbound

    def collect(self) -> Iterator[GaugeMetricFamily]:
        status = GaugeMetricFamily(
            f"{PREFIX}_outbound_status", "Outbound health of an export (1 for its status).",
            labels=["export", "target", "status", "cause"])
        letters = GaugeMetricFamily(
            f"{PREFIX}_outbound_dead_letters", "Rejected keys of an export by dead-letter state.",
            labels=["export", "state"])
        confirmed = GaugeMetricFamily(
            f"{PREFIX}_outbound_last_confirmed_timestamp_seconds",
            "When the target last confirmed a delivery of the export, Unix time.",
            labels=["export"])
        for h in self.outbound:
            for s in self.STATUSES:
                status.add_metric([h.export_id, h.target, s, h.cause or ""],
                                  1.0 if h.status == s else 0.0)
            letters.add_metric([h.export_id, "pending"], float(h.pending_dead_letters))
            letters.add_metric([h.export_id, "dead"], float(h.dead_letters))
            _add(confirmed, [h.export_id], _timestamp(h.last_confirmed_at))
        yield from (status, letters, confirmed)


def registry_for(board: StatusBoard, attainment: tuple[Attainment, ...],
                 outbound: tuple[OutboundHealth, ...] = ()) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_BoardCollector(board, attainment))
    if outbound:
        registry.register(_OutboundCollector(outbound))
    return registry


def exposition(board: StatusBoard, attainment: tuple[Attainment, ...],
               outbound: tuple[OutboundHealth, ...] = ()) -> str:
    """The metrics in the Prometheus text format."""
    return generate_latest(registry_for(board, attainment, outbound)).decode()


def write_textfile(board: StatusBoard, attainment: tuple[Attainment, ...], path: Path,
                   outbound: tuple[OutboundHealth, ...] = ()) -> None:
    """Write atomically (a temporary file beside `path`, then rename) so the collector never
    reads half a file."""
    if not path.parent.is_dir():
        raise InputError(f"{path.parent}: directory not found")
    try:
        write_to_textfile(os.fspath(path), registry_for(board, attainment, outbound))
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror})") from None
