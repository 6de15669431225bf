"""Run dbt for this project and read back what it did from its artifacts.

dbt runs as a subprocess of the same environment, so the DuckDB file lock is released when it
ends and a crash in dbt never takes the caller with it. Its full log goes to a file; callers
get a summary from `run_results.json` and `sources.json`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from governance.errors import DbtError, InputError


@dataclass(frozen=True)
class DbtInvocation:
    args: tuple[str, ...]
    returncode: int
    seconds: float
    log_path: Path


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    status: str
    message: str | None

    @property
    def name(self) -> str:
        """`test.syncgov.<name>.<hash>` and `model.syncgov.<name>` both give `<name>`."""
        parts = self.unique_id.split(".")
        return parts[2] if len(parts) > 2 else self.unique_id


@dataclass(frozen=True)
class RunSummary:
    """Statuses per resource type, and the nodes that did not simply pass."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)
    notable: tuple[NodeResult, ...] = ()

    def count(self, status: str) -> int:
        return sum(c[status] for c in self.counts.values())


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def run_dbt(
    args: list[str],
    *,
    project_dir: Path,
    log_path: Path,
    env: dict[str, str] | None = None,
    target_dir: Path | None = None,
    check: bool = True,
) -> DbtInvocation:
    """Run `dbt ARGS` in `project_dir` with its profiles.yml; raise DbtError when it fails.

    `target_dir` keeps artifacts apart (parallel tests, benchmarks); dbt's own log file goes
    beside `log_path`.
    """
    full_env = {**os.environ, "DBT_PROFILES_DIR": str(project_dir), **(env or {})}
    full_env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log_path.open("w") as log:
        try:
            proc = subprocess.run(
                [
                    dbt_executable(),
                    *args,
                    "--project-dir",
                    str(project_dir),
                    "--log-path",
                    str(log_path.parent),
                    *(["--target-path", str(target_dir)] if target_dir else []),
                ],
                cwd=project_dir,
                env=full_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        except FileNotFoundError as exc:
            raise InputError("dbt is not installed in this environment; run `make install`") from exc
    invocation = DbtInvocation(tuple(args), proc.returncode, time.monotonic() - started, log_path)
    if check and proc.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
        raise DbtError(f"`dbt {' '.join(args)}` failed (exit {proc.returncode}); log: {log_path}\n{tail}")
    return invocation


def read_run_results(target_dir: Path) -> RunSummary:
    """Summarise target/run_results.json: status counts per resource type and non-passing nodes."""
    data = _read_json(target_dir / "run_results.json")
    counts: dict[str, Counter[str]] = {}
    notable: list[NodeResult] = []
    for result in data.get("results", []):
        unique_id = result["unique_id"]
        kind = unique_id.split(".", 1)[0]
        status = str(result["status"])
        counts.setdefault(kind, Counter())[status] += 1
        # exposures are reported as "no-op": they have nothing to run, which is not a problem
        if status not in ("success", "pass", "no-op"):
            notable.append(NodeResult(unique_id, status, result.get("message")))
    return RunSummary(counts, tuple(notable))


@dataclass(frozen=True)
class FreshnessResult:
    source: str
    status: str
    age_seconds: float | None
    error_after: str | None


def read_freshness(target_dir: Path) -> tuple[FreshnessResult, ...]:
    """Each source's freshness status and age from target/sources.json."""
    data = _read_json(target_dir / "sources.json")
    out = []
    for result in data.get("results", []):
        criteria = result.get("criteria") or {}
        error_after = criteria.get("error_after") or {}
        threshold = (
            f"{error_after['count']} {error_after['period']}"
            if error_after.get("count") is not None
            else None
        )
        out.append(
            FreshnessResult(
                source=result["unique_id"].removeprefix("source.syncgov."),
                status=str(result["status"]),
                age_seconds=result.get("max_loaded_at_time_ago_in_s"),
                error_after=threshold,
            )
        )
    return tuple(sorted(out, key=lambda r: r.source))


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise InputError(f"{path} not found: run dbt first") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from exc
