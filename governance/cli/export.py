"""`syncgov export`: gate every reverse-ETL export, write its manifest, render the publishable
ones for drt or Census, and record the verdicts in audit.sync_export_log."""

from __future__ import annotations

import json
from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.cli.options import (
    registry_option,
    resolve_warehouse,
    target_option,
    warehouse_option,
)
from governance.exports.publish import ExportOptions, ExportRun, run_exports
from governance.exports.renderers import RenderOptions
from governance.observe.lineage import LineageEmitter
from governance.registry import load_registry

VERDICT_MARK = {"publishable": "ok     ", "warn": "warn   ", "blocked": "BLOCKED"}


@click.command("export")
@click.option("--target-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="dbt artifacts to read: manifest.json, run_results.json, sources.json."
                   " [default: PROJECT_DIR/target]")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where manifests, index.json and renderings go. [default: TARGET_DIR/exports]")
@click.option("--render", "render", type=click.Choice(["drt", "census"]), multiple=True,
              help="Render the publishable exports for this tool (repeatable): `drt` writes a"
                   " drt project (OUT/drt), `census` Census GitLink syncs (OUT/census/syncs).")
@click.option("--select", "select", multiple=True, metavar="EXPORT",
              help="Evaluate only this export (repeatable). [default: every declared export]")
@registry_option
@click.option("--project-dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=Path(), show_default=True, help="The dbt project.")
@warehouse_option
@target_option
@click.option("--drt-profile", default="syncgov", show_default=True,
              help="The ~/.drt/profiles.yml profile the rendered drt project reads the"
                   " warehouse through.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text for people; json prints index.json.")
@handle_errors
def export_command(target_dir: Path | None, out_dir: Path | None, render: tuple[str, ...],
                   select: tuple[str, ...], registry_dir: Path, project_dir: Path,
                   warehouse: Path | None, target: str | None, drt_profile: str, fmt: str,
                   ) -> None:
    """Gate each reverse-ETL export and publish the ones that pass.

    For every export in registry/exports.yml the gate reads the dbt artifacts (tests on the
    export model and its upstream state models, source freshness), the control models
    (domain status, unreconciled batches, quarantine ratio, open conflicts on exported fields,
    drift), the row count against the previous publication and the registry lint — and
    enforces again that no field goes back to its system of record and nothing goes above the
    target's clearance. A domain that is not current applies its degradation rule:
    pause_downstream blocks, queue holds, degrade_to_batch warns and slows the schedule, retry
    blocks until the next attempt.

    Writes OUT/manifests/EXPORT.json (schema: governance/schemas/export-manifest.v1.json) and
    OUT/index.json, renders publishable and warn exports (never a blocked one as runnable),
    and appends one row per export to audit.sync_export_log in the warehouse (on --target's
    engine, DuckDB or Snowflake, like every read). Each manifest's
    batch names the window of changed rows (watermark_from, watermark_to] to deliver.

    With OPENLINEAGE_URL (HTTP) or SYNCGOV_OPENLINEAGE_FILE (JSON lines) set, or `lineage` in
    registry/policy.yml, each export's evaluation is an OpenLineage run: START, then COMPLETE
    (publishable, warn) or FAIL (blocked), with the gate's checks as data-quality assertions;
    a lineage backend that cannot be reached is a warning, not a failure.

    Run it after `dbt build` and `dbt source freshness`. Exit codes: 0 every export is
    publishable or warn, 1 at least one is blocked, 2 unreadable input or bad usage.
    """
    project = project_dir.resolve()
    where = resolve_warehouse(warehouse, target, project)
    target_path = target_dir if target_dir is not None else project / "target"
    lineage = LineageEmitter.from_config(load_registry(registry_dir))
    run = run_exports(
        ExportOptions(
            project_dir=project,
            registry_dir=registry_dir,
            target_dir=target_path,
            warehouse=where,
            out_dir=out_dir if out_dir is not None else target_path / "exports",
            render=render,
            select=select,
            render_options=RenderOptions(drt_profile=drt_profile),
            lineage=lineage,
        ),
        progress=lambda msg: click.echo(f"syncgov export: {msg}", err=True),
    )
    for problem in lineage.errors:
        click.echo(f"syncgov export: warning: {problem}", err=True)
    if fmt == "json":
        click.echo(run.index_path.read_text(), nl=False)
    else:
        click.echo(format_run(run))
    if run.blocked:
        raise SystemExit(1)


def format_run(run: ExportRun) -> str:
    """One line per export with its verdict, then its reasons and where it was rendered."""
    lines = []
    for o in run.outcomes:
        lines.append(f"{VERDICT_MARK[o.verdict]} {o.export_id:<34} -> {o.target:<30}"
                     f" {o.rows_current:>8,} rows, {o.batch.rows_in_batch:,} in batch")
        for r in o.reasons:
            mark = "block" if r.status == "block" else "warn "
            lines.append(f"          {mark} {r.check}: {r.message}")
        if o.verdict != "blocked" and o.effective_schedule:
            lines.append(f"          schedule `{o.effective_schedule}`")
        for name, rendering in o.rendered.items():
            where = rendering.path if rendering.path else "-"
            note = f" ({rendering.reason})" if rendering.reason else ""
            lines.append(f"          {name}: {where}{note}")
    counts = json.loads(run.index_path.read_text())["summary"]
    lines.append(f"syncgov export: {counts['publishable']} publishable, {counts['warn']} warn,"
                 f" {counts['blocked']} blocked; manifests in {run.out_dir}")
    return "\n".join(lines)


def register(main: click.Group) -> None:
    main.add_command(export_command)
