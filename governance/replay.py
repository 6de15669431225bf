"""Replay a domain from a batch or a moment: re-stage and re-apply everything loaded since.

The dbt models do the work (`var('sync_replay_from')` widens staging to the replay point and
makes state rebuild every touched key from its whole history); this module plans the replay,
runs `dbt build` over the affected selection, and reports what changed per state model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from governance.catalogue import landing_table_entries
from governance.dbt_invoke import RunSummary, read_run_results, run_dbt
from governance.errors import InputError, UsageError
from governance.warehouse import Connection, QueryError, Warehouse, as_warehouse

APPLY_METADATA = ("_applied_at", "_dbt_invocation_id", "_staged_at")


@dataclass(frozen=True)
class LandingTable:
    system: str
    entity: str
    domain: str
    key: str
    state: str

    @property
    def name(self) -> str:
        return f"{self.system}__{self.entity}"

    @property
    def staging_model(self) -> str:
        return f"stg_{self.name}"


@dataclass(frozen=True)
class ReplayPlan:
    domain: str
    since: datetime
    from_batch: str | None
    tables: tuple[LandingTable, ...]
    rows_to_reprocess: dict[str, int]
    batches: int

    @property
    def selection(self) -> list[str]:
        return [f"{t.staging_model}+" for t in self.tables]

    @property
    def state_models(self) -> dict[str, str]:
        """State model -> its key: per-source states and the domain's entity state."""
        models = {t.state: t.key for t in self.tables}
        models.setdefault(f"{self.domain}_state", self.tables[0].key)
        return models

    @property
    def dbt_vars(self) -> dict[str, str]:
        return {"sync_replay_from": self.since.isoformat(sep=" "),
                "sync_replay_domain": self.domain}


@dataclass(frozen=True)
class ModelChange:
    model: str
    added: int
    changed: int
    removed: int


@dataclass(frozen=True)
class ReplayResult:
    plan: ReplayPlan
    changes: tuple[ModelChange, ...]
    build: RunSummary
    seconds: float


def landing_tables(project_dir: Path) -> tuple[LandingTable, ...]:
    """The landing tables of the project's catalogue (governance.catalogue)."""
    return tuple(
        LandingTable(e["system"], e["entity"], e["domain"], e["key"], e["state"])
        for e in landing_table_entries(project_dir)
    )


def plan_replay(
    project_dir: Path, warehouse: Warehouse | Path, domain: str, *, from_batch: str | None = None,
    since: datetime | None = None,
) -> ReplayPlan:
    if (from_batch is None) == (since is None):
        raise UsageError("give exactly one of --from-batch and --since")
    tables = tuple(t for t in landing_tables(project_dir) if t.domain == domain)
    if not tables:
        known = sorted({t.domain for t in landing_tables(project_dir)})
        raise UsageError(f"unknown domain {domain!r}; known: {', '.join(known)}")
    warehouse = as_warehouse(warehouse)
    if not warehouse.exists():
        raise InputError(f"warehouse {warehouse} does not exist; run `syncgov simulate` and dbt first")
    con = warehouse.connect()
    try:
        if from_batch is not None:
            row = con.execute(
                "select landing_table, started_at from landing.sync_batches where batch_id = ?",
                [from_batch],
            ).fetchone()
            if row is None:
                raise UsageError(f"batch {from_batch!r} is not in landing.sync_batches")
            if row[0] not in {t.name for t in tables}:
                raise UsageError(f"batch {from_batch!r} belongs to {row[0]}, not to domain {domain!r}")
            since = row[1]
        assert since is not None
        rows = {
            t.name: con.execute(
                f"select count(*) from landing.{t.name} where _loaded_at >= ?", [since]
            ).fetchone()[0]
            for t in tables
        }
        (batches,) = con.execute(
            "select count(*) from landing.sync_batches where finished_at >= ? and landing_table in"
            f" ({', '.join('?' for _ in tables)})",
            [since, *[t.name for t in tables]],
        ).fetchone()
    except QueryError as exc:
        raise InputError(f"cannot read {warehouse}: {exc}") from None
    finally:
        con.close()
    return ReplayPlan(domain, since, from_batch, tables, rows, int(batches))


def _row_hashes(con: Connection, model: str, key: str) -> dict[str, str]:
    """key -> fingerprint of the row without when/by whom it was applied: the md5 of its
    columns' text, NULL and the separator spelled by control characters (the same SQL on both
    engines; fakesnow cannot run Snowflake's multi-argument HASH)."""
    columns = [c for _, c, _ in con.columns("state", model) if c not in APPLY_METADATA]
    if not columns:
        raise InputError(f"state.{model} is not in the warehouse: run `dbt build`")
    q = con.quote
    text = ", ".join(f"coalesce(cast({q(c)} as varchar), chr(30))" for c in columns)
    return dict(con.execute(
        f"select {q(key)}, md5(concat_ws(chr(31), {text})) from state.{q(model)}"
    ).fetchall())


def _snapshot(warehouse: Warehouse, models: dict[str, str]) -> dict[str, dict[str, str]]:
    con = warehouse.connect()
    try:
        return {m: _row_hashes(con, m, k) for m, k in models.items()}
    finally:
        con.close()


def run_replay(
    plan: ReplayPlan, project_dir: Path, warehouse: Warehouse | Path, *, target_dir: Path | None = None
) -> ReplayResult:
    """Run the replay through dbt and report added / changed / removed rows per state model."""
    warehouse = as_warehouse(warehouse)
    before = _snapshot(warehouse, plan.state_models)
    invocation = run_dbt(
        # unit tests pin the normal incremental logic; a replay is about data, not logic
        ["build", "--select", *plan.selection, "--exclude-resource-type", "unit_test",
         "--vars", json.dumps(plan.dbt_vars)],
        project_dir=project_dir,
        log_path=warehouse.parent / "logs" / "dbt-replay.log",
        env=warehouse.dbt_env(),
        target_dir=target_dir,
    )
    after = _snapshot(warehouse, plan.state_models)
    changes = []
    for model in plan.state_models:
        old, new = before[model], after[model]
        changes.append(ModelChange(
            model,
            added=len(new.keys() - old.keys()),
            changed=sum(1 for k in new.keys() & old.keys() if new[k] != old[k]),
            removed=len(old.keys() - new.keys()),
        ))
    summary = read_run_results(target_dir or project_dir / "target")
    return ReplayResult(plan, tuple(changes), summary, invocation.seconds)
