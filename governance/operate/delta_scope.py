"""Which rows a cycle's tests read (issue 18, tests by cost): the delta since a point, or all.

Every cycle's `dbt build` gets `sync_delta_since`; the tests whose `where` holds a scope
marker (macros/sync_delta_scope.sql) then read only the rows staged, applied or classified
since that point, and the tests tagged `full_table` — correct only over the whole table — are
left to the nightly job (`FULL_TESTS_JOB`, a plain `dbt test`: every test, unscoped).

The point is where the last *clean* build of each selected job began (its own
`sync_delta_started_at`, recorded with its vars in audit.sync_audit_log), less a margin for
the clock between this machine and the warehouse. A failed or killed build does not move it:
the rows it staged are read again by the next cycle, so a fault found in the delta stays a
failing test until it is repaired, instead of passing the next time because the delta moved
on. With no clean build on record the cycle is a full check (no var: every test, unscoped).

The scope reaches dbt as environment variables (`SYNCGOV_DELTA_*`), not `--vars`: dbt
re-parses the whole project when its vars change, and the point changes every cycle. The
on-run-end hook records them with the invocation's vars in audit.sync_audit_log, under the
var names, which is how the export gate tells a delta-scoped pass from a full-table one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from governance.exports.artifacts import DELTA_CYCLE_EXCLUDES, SINCE_VAR
from governance.warehouse import Connection


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """`values` in os.environ for the duration (a subprocess inherits them, an in-process dbt
    reads them), each variable restored afterwards, or removed if it was unset."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

STARTED_VAR = "sync_delta_started_at"
JOBS_VAR = "sync_delta_jobs"
ENV = {SINCE_VAR: "SYNCGOV_DELTA_SINCE", STARTED_VAR: "SYNCGOV_DELTA_STARTED_AT",
       JOBS_VAR: "SYNCGOV_DELTA_JOBS"}
# the warehouse stamps `_staged_at` / `_applied_at` with its own clock, this machine picks the
# point: on a remote warehouse (Snowflake) rows a few minutes older than the point are read
# again rather than missed; embedded DuckDB shares this machine's clock
CLOCK_MARGIN = timedelta(minutes=5)
NO_MARGIN = timedelta(0)


@dataclass(frozen=True)
class CycleScope:
    """The scope of one cycle's tests."""

    started_at: datetime  # when this cycle's build begins (this machine's clock, UTC)
    since: datetime | None  # None: a full check (the first cycle, or no clean build on record)
    jobs: tuple[str, ...]

    @property
    def is_delta(self) -> bool:
        return self.since is not None

    def env(self) -> dict[str, str]:
        """What the build's environment gets (macros/sync_delta_scope.sql reads it)."""
        return {ENV[SINCE_VAR]: _iso(self.since) if self.since is not None else "",
                ENV[STARTED_VAR]: _iso(self.started_at), ENV[JOBS_VAR]: ",".join(self.jobs)}

    def build_args(self) -> list[str]:
        """What `dbt build` gets besides its selection: a delta cycle leaves the tests that
        cannot be scoped, and the unit tests, to the nightly job; a full check runs them too."""
        return list(DELTA_CYCLE_EXCLUDES) if self.is_delta else []

    @contextmanager
    def environment(self) -> Iterator[None]:
        """The scope in os.environ while dbt runs (a subprocess inherits it; the loop's
        in-process dbt reads it), restored afterwards."""
        with environment(self.env()):
            yield

    @property
    def summary(self) -> str:
        if self.since is None:
            return "full check (no clean build of this selection on record)"
        return f"tests scoped to the delta since {self.since:%Y-%m-%d %H:%M:%S} UTC"


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat(sep=" ")


def clean_build_starts(con: Connection) -> dict[str, datetime]:
    """Per job, when its latest clean (no error, failure) `dbt build` of a cycle began."""
    if not con.relation_exists("audit", "sync_audit_log"):
        return {}
    rows = con.execute(
        "select invocation_vars from audit.sync_audit_log"
        " where resource_type = 'invocation' and command = 'build' and status = 'success'"
        f" and invocation_vars like '%{STARTED_VAR}%'").fetchall()
    starts: dict[str, datetime] = {}
    for (text,) in rows:
        try:
            given = json.loads(text or "{}")
            started = datetime.fromisoformat(str(given[STARTED_VAR]))
            jobs = [j for j in str(given.get(JOBS_VAR) or "").split(",") if j]
        except (ValueError, KeyError, TypeError):
            continue
        for job in jobs:
            if job not in starts or started > starts[job]:
                starts[job] = started
    return starts


def scope_for(con: Connection, jobs: Iterable[str], started_at: datetime,
              margin: timedelta = CLOCK_MARGIN) -> CycleScope:
    """The scope of a cycle of `jobs` whose build begins at `started_at`."""
    jobs = tuple(jobs)
    starts = clean_build_starts(con)
    if not jobs or any(j not in starts for j in jobs):
        return CycleScope(started_at, None, jobs)
    return CycleScope(started_at, min(starts[j] for j in jobs) - margin, jobs)
