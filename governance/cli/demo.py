"""`syncgov demo`: the whole story on the embedded DuckDB warehouse, end to end."""

from __future__ import annotations

from pathlib import Path

import click

from governance.cli.errors import handle_errors
from governance.cli.terminal import console
from governance.demo import DemoSummary, run_demo
from governance.status import render_table, summary_line
from governance.warehouse import default_warehouse


@click.command("demo")
@click.option("--events", type=click.IntRange(min=1000), default=100_000, show_default=True,
              help="Change events to simulate.")
@click.option("--seed", type=int, default=42, show_default=True, help="Simulation seed.")
@click.option("--project-dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=Path(), show_default=True, help="The dbt project (this repository).")
@click.option("--warehouse", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="DuckDB file to (re)create. [default: $SYNCGOV_WAREHOUSE or .warehouse/syncgov.duckdb]")
@handle_errors
def demo_command(events: int, seed: int, project_dir: Path, warehouse: Path | None) -> None:
    """Simulate faults, build the warehouse with dbt, and show what the controls caught.

    Replaces the warehouse file. Succeeds while showing the injected faults: SLO breaches are
    warnings; integrity failures (duplicate keys in state, overlapping history) fail it.
    """
    summary = run_demo(
        project_dir.resolve(),
        warehouse or default_warehouse(),
        events=events,
        seed=seed,
        echo=lambda msg: click.echo(msg, err=True),
    )
    _print_summary(summary)
    _print_operator_surface(summary)


def _print_summary(s: DemoSummary) -> None:
    click.echo("")
    click.echo(f"syncgov demo: finished in {s.seconds:.0f}s — warehouse {s.warehouse}")
    click.echo(f"  landed rows {s.landed_rows:,}; distinct events staged {s.staged_events:,}"
               f" ({s.landed_rows - s.staged_events:,} later deliveries: duplicates and"
               " conflicting redeliveries)")
    click.echo("  state tables (rows / tombstones):")
    for table, (rows, deleted) in s.state_rows.items():
        click.echo(f"    {table:<16} {rows:>8,} / {deleted:,}")
    total_q = sum(s.quarantine.values())
    click.echo(f"  quarantined events {total_q:,}: "
               + ", ".join(f"{reason} {n:,}" for reason, n in s.quarantine.items()))
    warns = [n for n in s.incremental.notable if n.status == "warn"]
    click.echo(f"  tests: {s.incremental.count('pass')} passed, {len(warns)} warnings,"
               f" {s.incremental.count('error') + s.incremental.count('fail')} failed")
    for node in warns:
        click.echo(f"    warn  {node.name}: {node.message}")
    click.echo("  source freshness (latency SLO from the ledger):")
    for f in s.freshness:
        age = "never" if f.age_seconds is None else f"{f.age_seconds / 60:,.0f} min ago"
        click.echo(f"    {f.status:<6} {f.source:<32} last batch {age} (error after {f.error_after})")
    if s.stalled_system:
        click.echo(f"  injected stall: {s.stalled_system} stopped loading")
    if s.late_commits:
        click.echo("  late commits in the append (stamped before what staging had seen), staged by"
                   " the next incremental build: " + ", ".join(
                       f"{_minutes(m)} late {staged}/{seen}"
                       for m, (seen, staged) in s.late_commits.items()))
    click.echo("  sync health per domain (control.sync_health):")
    for domain, status, reason in s.health:
        click.echo(f"    {status:<8} {domain:<10} {reason}")
    click.echo("  batches (control.sync_reconciliation): " + _pairs(s.reconciliation))
    click.echo("  landed rows (control.sync_event_dispositions): " + _pairs(s.dispositions))
    click.echo("  conflicts (control.sync_conflicts): " + (_pairs(s.conflicts) or "none"))
    click.echo("  drifted keys vs source extracts (control.sync_drift): "
               + (_pairs(s.drifted_keys) or "none"))
    if s.status is not None:
        dropped = [f"{f.flow} ({d.domain}) {f.volume_anomaly}" for d in s.status.domains
                   for f in d.flows if f.volume_anomaly]
        click.echo("  volume anomalies, latest batch vs its baseline"
                   " (control.sync_volume_anomalies): " + (", ".join(dropped) or "none"))
    click.echo("  manual corrections: " + ", ".join(
        f"{cid} {'applied' if applied else 'not yet effective'}" for cid, applied in s.corrections
    ))
    _print_exports(s)


def _print_exports(s: DemoSummary) -> None:
    if s.exports is None:
        return
    click.echo(f"  reverse-ETL exports (syncgov export; manifests in {s.exports.out_dir}/manifests,"
               " verdicts in audit.sync_export_log):")
    for o in s.exports.outcomes:
        click.echo(f"    {o.verdict:<11} {o.export_id} -> {o.target}: {o.rows_current:,} rows,"
                   f" batch {o.batch.batch_id}")
        for r in o.reasons:
            click.echo(f"      {r.status:<5} {r.check}: {r.message}")
    rendered = sorted(o.export_id for o in s.exports.outcomes if o.rendered.get("drt")
                      and o.rendered["drt"].path)
    click.echo(f"  drt project {s.exports.out_dir / 'drt'} (drt_project.yml, syncs/):"
               f" {', '.join(rendered) or 'no publishable export'}")
    click.echo(f"  drt validate: {s.drt_validate}")


def _print_operator_surface(s: DemoSummary) -> None:
    """Last: where the HTML report is, and the status table `syncgov status` prints."""
    if s.report is not None:
        click.echo(f"  HTML report: {s.report}")
    if s.status is not None:
        out = console()
        out.print(render_table(s.status))
        out.print(summary_line(s.status), highlight=False)


def _minutes(minutes: int) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440} d"
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n:,}" for name, n in counts.items())


def register(main: click.Group) -> None:
    main.add_command(demo_command)
