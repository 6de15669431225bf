"""Inline SVG charts for the HTML report: no script, no network, readable when printed.

Each function returns one `<svg>` element as markup-safe text with a <title> and text labels,
so the numbers are in the page, not only in the shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

from governance.control_tables import Attainment, HealthObservation
from governance.report.slo import MinuteAttainment

WIDTH = 640
TIMES = "\u00d7"  # the multiplication sign of "2.5x the budget"
COLORS = {"7d": "#2563eb", "30d": "#7c3aed"}
STATUS_COLORS = {"current": "#15803d", "partial": "#b45309", "delayed": "#b91c1c",
                 "failed": "#7f1d1d", "unknown": "#6b21a8"}


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    series: str
    text: str


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def grouped_bars(bars: Sequence[Bar], *, title: str, maximum: float, reference: float | None,
                 reference_label: str) -> Markup:
    """Horizontal bars, one group per label and one bar per series (7d, 30d)."""
    labels = list(dict.fromkeys(b.label for b in bars))
    series = list(dict.fromkeys(b.series for b in bars))
    left, right, bar_h, gap = 160, 140, 14, 10
    group_h = bar_h * len(series) + gap
    legend_h = 24
    height = legend_h + group_h * len(labels) + 24
    plot_w = WIDTH - left - right
    scale = plot_w / maximum if maximum > 0 else 0
    body = []
    for i, s in enumerate(series):
        x = left + i * 90
        body.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{COLORS.get(s, "#555")}"/>'
                    f'<text x="{x + 16}" y="14" class="legend">{escape(s)}</text>')
    for gi, label in enumerate(labels):
        y0 = legend_h + gi * group_h
        body.append(f'<text x="{left - 8}" y="{y0 + bar_h * len(series) / 2 + 4}"'
                    f' text-anchor="end" class="label">{escape(label)}</text>')
        for si, s in enumerate(series):
            bar = next((b for b in bars if b.label == label and b.series == s), None)
            if bar is None:
                continue
            y = y0 + si * bar_h
            w = max(min(bar.value, maximum) * scale, 1)
            body.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h - 2}"'
                        f' fill="{COLORS.get(s, "#555")}"><title>{escape(label)} {escape(s)}:'
                        f' {escape(bar.text)}</title></rect>'
                        f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 4}" class="value">'
                        f"{escape(bar.text)}</text>")
    bottom = legend_h + group_h * len(labels)
    if reference is not None and reference <= maximum:
        x = left + reference * scale
        body.append(f'<line x1="{x:.1f}" y1="{legend_h - 4}" x2="{x:.1f}" y2="{bottom}"'
                    f' class="reference"/><text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle"'
                    f' class="reference-label">{escape(reference_label)}</text>')
    return _svg(WIDTH, height, title, body)


def attainment_chart(attainment: Sequence[Attainment | MinuteAttainment]) -> Markup:
    bars = [Bar(a.domain, a.attainment * 100, f"{a.period_days}d",
                f"{a.attainment:.1%} of {a.observations} checks") for a in attainment]
    target = attainment[0].slo_target * 100 if attainment else None
    return grouped_bars(bars, title="SLO attainment over 7 and 30 days", maximum=100,
                        reference=target, reference_label=f"target {target:g}%" if target else "")


def burn_chart(attainment: Sequence[Attainment | MinuteAttainment]) -> Markup:
    bars = [Bar(a.domain, a.error_budget_burn, f"{a.period_days}d",
                f"{a.error_budget_burn:,.1f}{TIMES}") for a in attainment]
    top = max([b.value for b in bars] + [2.0])
    return grouped_bars(bars, title=f"Error-budget burn rate over 7 and 30 days (1{TIMES} spends"
                        " exactly the budget)", maximum=top, reference=1.0,
                        reference_label=f"1{TIMES} = budget")


def latency_chart(domain: str, history: Sequence[HealthObservation], slo_minutes: int | None,
                  ) -> Markup:
    """p95 propagation latency of one domain at each health evaluation, with its SLO line."""
    width, height, left, right, top, bottom = 300, 150, 46, 10, 18, 28
    points = [(h.evaluated_at, h.latency_p95_minutes, h.status) for h in history
              if h.latency_p95_minutes is not None]
    title = f"{domain}: p95 propagation latency (minutes) per health check"
    body = [f'<text x="{left}" y="12" class="label">{escape(domain)}</text>']
    if not points:
        body.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="value">'
                    "no latency measured yet</text>")
        return _svg(width, height, title, body)
    values = [p[1] for p in points]
    y_max = max([*values, float(slo_minutes or 0)]) * 1.15 or 1.0
    t0, t1 = points[0][0], points[-1][0]
    span = (t1 - t0).total_seconds() or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def xy(t: datetime, v: float) -> tuple[float, float]:
        x = left + ((t - t0).total_seconds() / span) * plot_w if len(points) > 1 else left + plot_w / 2
        return x, top + plot_h - (v / y_max) * plot_h

    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"'
                ' class="axis"/>'
                f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" class="axis"/>'
                f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" class="tick">{y_max:,.0f}</text>'
                f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" class="tick">0</text>')
    if slo_minutes:
        _, y = xy(t0, float(slo_minutes))
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}"'
                    f' class="reference"/><text x="{left + plot_w}" y="{y - 3:.1f}"'
                    f' text-anchor="end" class="reference-label">SLO {slo_minutes} min</text>')
    coords = [xy(t, v) for t, v, _ in points]
    if len(coords) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        body.append(f'<polyline points="{path}" class="series"/>')
    for (x, y), (t, v, status) in zip(coords, points, strict=True):
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5"'
                    f' fill="{STATUS_COLORS.get(status, "#555")}"><title>'
                    f'{t:%Y-%m-%d %H:%M} UTC: {v:,.1f} min ({escape(status)})</title></circle>')
    body.append(f'<text x="{left}" y="{height - 8}" class="tick">{t0:%m-%d %H:%M}</text>')
    if len(points) > 1:
        body.append(f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end" class="tick">'
                    f"{t1:%m-%d %H:%M}</text>")
    return _svg(width, height, title, body)


def quarantine_chart(counts: Sequence[tuple[str, int]]) -> Markup:
    """Quarantined events by reason, one bar each."""
    bars = [Bar(reason, float(n), "events", f"{n:,}") for reason, n in counts]
    top = max([b.value for b in bars] + [1.0])
    return grouped_bars(bars, title="Quarantined events by reason", maximum=top, reference=None,
                        reference_label="")
