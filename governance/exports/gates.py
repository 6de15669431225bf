"""The export gate: every check an export must pass before it may leave the warehouse.

A check looks at one piece of evidence and says `pass`, `warn` or `block`, with what it
observed and the threshold it applied. The verdict is `blocked` when any check blocks, `warn`
when any warns, else `publishable`. Evaluation is a pure function of `GateInputs`, which the
caller assembles from the registry, the dbt artifacts and the warehouse.

When an upstream domain is not current (its sync_health status is delayed, failed or unknown,
it has more unreconciled batches than the export tolerates, or its sources fail `dbt source
freshness`), the domain's declared degradation rule decides:

- `pause_downstream` blocks the export;
- `queue` holds it (blocked) until the domain is current again; the next publication then
  carries every change made meanwhile, because its window starts at the last published
  watermark;
- `degrade_to_batch` lets it through as a warning, on the export's slower degraded schedule;
- `retry` blocks it for now and names when the next attempt is due: the export's next
  scheduled run after the domain's next sync.

Tests by cost (issue 18): a cycle's tests read only the delta, and those tagged `full_table`
do not run in a cycle at all. A delta pass proves the new rows, not the table: every test that
guards an export and is scoped or full-table-only must also have passed over its whole table
(the nightly `full_table_tests` job, or any unscoped `dbt build`/`dbt test`) within
FULL_TEST_MAX_AGE, or the export is blocked (`full_table_tests`), failing closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from croniter import CroniterError, croniter

from governance.exports.artifacts import (
    DELTA,
    EVERY_CYCLE,
    FULL_TABLE,
    Built,
    NodeRun,
    SourceFreshness,
)
from governance.exports.evidence import DomainHealth
from governance.exports.spec import DomainSpec, ExportSpec
from governance.findings import Finding, Severity
from governance.registry.model import RANK, STREAMING

PASS, WARN, BLOCK = "pass", "warn", "block"
VERDICTS = {PASS: "publishable", WARN: "warn", BLOCK: "blocked"}
FAILED_TEST_STATUSES = frozenset({"fail", "error", "runtime error"})
# How old a guarding test's latest passing full-table result may be: the nightly job's day,
# plus two hours for a slow night or a queue on the warehouse lock.
FULL_TEST_MAX_AGE = timedelta(hours=26)
PASSING_TEST_STATUSES = frozenset({"pass", "warn", "success"})
# Rule ids the gate enforces itself (checks `write_back`, `clearance`), whatever the lint says.
SAFETY_RULES = frozenset({"SG404", "SG701"})


@dataclass(frozen=True)
class CheckResult:
    check: str
    status: str  # pass | warn | block
    observed: Any
    threshold: Any
    message: str
    domain: str | None = None
    action: str | None = None  # the degradation rule applied
    retry_at: datetime | None = None


@dataclass(frozen=True)
class UpstreamDomain:
    """One domain an export sends data of: its registry declaration, its health, and the
    freshness of each of its landing tables upstream of the export model."""

    name: str
    spec: DomainSpec | None
    health: DomainHealth | None
    # (source unique id, its freshness result or None when `dbt source freshness` did not check it)
    sources: tuple[tuple[str, SourceFreshness | None], ...] = ()


@dataclass(frozen=True)
class DbtTest:
    unique_id: str
    run: NodeRun | None  # None: not in the latest invocation
    cost: str = EVERY_CYCLE  # EVERY_CYCLE, DELTA or FULL_TABLE (artifacts.test_cost)
    full_run: NodeRun | None = None  # its latest result over the whole table

    @property
    def needs_full_result(self) -> bool:
        """A delta pass or no run at all in a cycle: only a full-table pass proves the table."""
        return self.cost in (DELTA, FULL_TABLE)

    @property
    def name(self) -> str:
        parts = self.unique_id.split(".")
        return parts[-1] if parts[0] == "unit_test" else parts[2] if len(parts) > 2 else self.unique_id


@dataclass(frozen=True)
class ModelEvidence:
    """What proves a model's rows fit to send: who built them, the latest completed result of
    the model and of each test on it, and the SLO its evidence must be younger than."""

    unique_id: str
    built: Built | None  # None: no build log (a warehouse older than the build log)
    run: NodeRun | None
    tests: tuple[DbtTest, ...]
    slo_minutes: int | None  # the strictest SLO of the domains the model reads

    @property
    def name(self) -> str:
        return self.unique_id.split(".")[-1]


@dataclass(frozen=True)
class GateInputs:
    spec: ExportSpec
    evaluated_at: datetime
    lint_findings: tuple[Finding, ...] = ()
    model_in_manifest: bool = True
    model_run: NodeRun | None = None
    model_columns: frozenset[str] | None = None  # declared in the model's YAML
    model_built: bool = True  # the relation exists in the warehouse
    tests: tuple[DbtTest, ...] = ()
    domains: tuple[UpstreamDomain, ...] = ()
    freshness_checked: bool = True  # sources.json was there
    open_conflicts: dict[str, int] = field(default_factory=dict)  # "domain.field" -> open
    rows_current: int = 0
    rows_previous: int | None = None
    evidence: tuple[ModelEvidence, ...] = ()  # the export model and its upstream state models
    sources_generated_at: datetime | None = None  # when sources.json was written


@dataclass(frozen=True)
class GateResult:
    verdict: str
    checks: tuple[CheckResult, ...]
    effective_schedule: str
    degraded: bool
    retry_at: datetime | None
    held_for: tuple[str, ...]

    @property
    def reasons(self) -> tuple[CheckResult, ...]:
        """The checks that did not pass: why the export warns or is blocked."""
        return tuple(c for c in self.checks if c.status != PASS)


@lru_cache(maxsize=4096)
def next_run(cron: str, after: datetime) -> datetime | None:
    try:
        return croniter(cron, after).get_next(datetime)
    except (CroniterError, ValueError, KeyError):
        return None


def next_attempt(spec: ExportSpec, domain: DomainSpec | None, now: datetime) -> datetime | None:
    """The export's next scheduled run after the domain's next sync (its cadence tick)."""
    base = now
    if domain is not None and domain.cadence not in STREAMING:
        base = next_run(domain.cadence, now) or now
    return next_run(spec.schedule, base)


def _degrade(inputs: GateInputs, domain: UpstreamDomain, check: str, observed: Any,
             threshold: Any, problem: str) -> CheckResult:
    """A non-current upstream domain: apply its declared degradation rule."""
    rule = domain.spec.degradation if domain.spec else "pause_downstream"
    spec = inputs.spec
    if rule == "degrade_to_batch":
        return CheckResult(check, WARN, observed, threshold,
                           f"{problem}; domain {domain.name!r} degrades to batch: published on the"
                           f" degraded schedule `{spec.degraded_schedule}`",
                           domain.name, rule)
    if rule == "queue":
        return CheckResult(check, BLOCK, observed, threshold,
                           f"{problem}; domain {domain.name!r} queues downstream exports: held"
                           " until it is current again, then published with every change made"
                           " meanwhile", domain.name, rule)
    if rule == "retry":
        due = next_attempt(spec, domain.spec, inputs.evaluated_at)
        when = due.strftime("%Y-%m-%d %H:%M UTC") if due else "the next scheduled run"
        return CheckResult(check, BLOCK, observed, threshold,
                           f"{problem}; domain {domain.name!r} retries: blocked for now, next"
                           f" attempt at {when}", domain.name, rule, due)
    return CheckResult(check, BLOCK, observed, threshold,
                       f"{problem}; domain {domain.name!r} pauses downstream exports",
                       domain.name, "pause_downstream")


def _safety(spec: ExportSpec) -> Iterable[CheckResult]:
    """The registry's safety rules, enforced again at export time (SG404, SG701, SG505)."""
    undeclared = [f"{f.domain}.{f.field}" for f in spec.fields if f.owner is None]
    undeclared += [f"key {f.domain}.{f.field}" for f in spec.key_fields
                   if f.classification is None]
    yield CheckResult(
        "declared_fields", BLOCK if undeclared else PASS, undeclared, "every field declared",
        f"fields without owner and classification in domains.yml: {', '.join(undeclared)}"
        if undeclared else "every exported field is declared with an owner and a classification")
    loops = [f"{f.domain}.{f.field}" for f in spec.fields if f.owner == spec.target_system]
    yield CheckResult(
        "write_back", BLOCK if loops else PASS, loops, f"no field owned by {spec.target_system}",
        f"writes {', '.join(loops)} back into {spec.target_system!r}, which owns"
        f" {'it' if len(loops) == 1 else 'them'} (a write-back loop, SG404)"
        if loops else f"no field is written back to its owner {spec.target_system!r}")
    clearance = spec.target_clearance
    above = [f"{f.domain}.{f.field} ({f.classification})" for f in (*spec.key_fields, *spec.fields)
             if clearance is None or (f.classification is not None
                                      and RANK[f.classification] > RANK[clearance])]
    yield CheckResult(
        "clearance", BLOCK if above else PASS, above, clearance,
        f"sends {', '.join(above)} to {spec.target_system!r}, cleared only for {clearance}"
        " (SG701)" if above and clearance else
        f"target system {spec.target_system!r} has no declared clearance" if above else
        f"nothing above {spec.target_system!r}'s clearance ({clearance})")


def _lint(inputs: GateInputs) -> CheckResult:
    findings = [f for f in inputs.lint_findings if f.rule_id not in SAFETY_RULES]
    errors = [f for f in findings if f.severity is Severity.ERROR]
    warnings = [f for f in findings if f.severity is Severity.WARNING]
    observed = [f"{f.rule_id} {f.path}:{f.line} {f.message}" for f in errors + warnings]
    require = inputs.spec.gate.require_lint_clean
    if errors:
        return CheckResult("registry_lint", BLOCK if require else WARN, observed, "no errors",
                           f"{len(errors)} lint error(s) concern this export, e.g."
                           f" {errors[0].rule_id}: {errors[0].message}")
    if warnings:
        return CheckResult("registry_lint", WARN, observed, "no errors",
                           f"{len(warnings)} lint warning(s), e.g. {warnings[0].rule_id}:"
                           f" {warnings[0].message}")
    return CheckResult("registry_lint", PASS, [], "no errors",
                       "the registry is lint-clean for this export")


def _model(inputs: GateInputs) -> CheckResult:
    model = inputs.spec.model
    if not inputs.model_in_manifest:
        return CheckResult("dbt_model", BLOCK, "missing", "built", f"model {model!r} is not in"
                           " the dbt manifest: add it under models/exports/ (SG606)")
    status = inputs.model_run.status if inputs.model_run else None
    if status != "success":
        problem = ("was not built by the latest dbt invocation (run `dbt build`)"
                   if status is None else f"did not build in the latest dbt invocation: {status}")
        return CheckResult("dbt_model", BLOCK, status or "not run", "success",
                           f"model {model!r} {problem}")
    if not inputs.model_built:
        return CheckResult("dbt_model", BLOCK, "no relation", "success",
                           f"model {model!r} built, but its relation is not in this warehouse")
    missing = sorted(set(inputs.spec.columns) - (inputs.model_columns or frozenset()))
    if missing:
        return CheckResult("dbt_model", BLOCK, missing, "every mapped column declared",
                           f"model {model!r} does not declare the mapped column(s)"
                           f" {', '.join(missing)} in its YAML contract")
    return CheckResult("dbt_model", PASS, status, "success", f"model {model!r} built")


def _tests(inputs: GateInputs) -> CheckResult:
    failed = [t.name for t in inputs.tests if t.run and t.run.status in FAILED_TEST_STATUSES]
    skipped = [t.name for t in inputs.tests if t.run and t.run.status == "skipped"]
    not_run = [t.name for t in inputs.tests if t.run is None]
    warned = [t.name for t in inputs.tests if t.run and t.run.status == "warn"]
    observed = {"tests": len(inputs.tests), "failed": failed, "skipped": skipped,
                "not_run": not_run, "warned": warned}
    threshold = "every test on the export model and its upstream state models passes"
    if failed or skipped or not_run:
        parts = [f"{len(failed)} failed" if failed else "", f"{len(skipped)} skipped" if skipped
                 else "", f"{len(not_run)} never run" if not_run else ""]
        example = (failed or skipped or not_run)[0]
        return CheckResult("dbt_tests", BLOCK, observed, threshold,
                           f"{', '.join(p for p in parts if p)} of {len(inputs.tests)} tests on"
                           f" the export and its upstream state, e.g. {example}")
    if warned:
        return CheckResult("dbt_tests", WARN, observed, threshold,
                           f"{len(warned)} test(s) warn, e.g. {warned[0]}")
    if not inputs.tests:
        return CheckResult("dbt_tests", BLOCK, observed, threshold,
                           "no test covers the export model or its upstream state")
    return CheckResult("dbt_tests", PASS, observed, threshold,
                       f"all {len(inputs.tests)} tests on the export and its upstream state pass")


def _full_table_tests(inputs: GateInputs) -> CheckResult:
    """Every guarding test that a cycle scopes to the delta or leaves out passed over its
    whole table within FULL_TEST_MAX_AGE (fail closed: never run, failed, or too old blocks)."""
    needed = [t for t in inputs.tests if t.needs_full_result]
    hours = FULL_TEST_MAX_AGE.total_seconds() / 3600
    threshold = f"a passing full-table result within {hours:g} h"
    never, failed, old = [], [], []
    for test in needed:
        run = test.full_run
        if run is None or run.recorded_at is None:
            never.append(test.name)
        elif run.status not in PASSING_TEST_STATUSES:
            failed.append(f"{test.name} ({run.status} at {run.recorded_at:%Y-%m-%d %H:%M} UTC)")
        elif inputs.evaluated_at - run.recorded_at > FULL_TEST_MAX_AGE:
            old.append(f"{test.name} (passed at {run.recorded_at:%Y-%m-%d %H:%M} UTC)")
    observed = {"guarding": len(needed), "never_run_in_full": never, "failed_in_full": failed,
                "too_old": old,
                "full_table_only": sum(1 for t in needed if t.cost == FULL_TABLE)}
    if never or failed or old:
        parts = [f"{len(never)} never run over the whole table" if never else "",
                 f"{len(failed)} failed over the whole table" if failed else "",
                 f"{len(old)} last passed over it more than {hours:g} h ago" if old else ""]
        example = (failed or never or old)[0]
        return CheckResult("full_table_tests", BLOCK, observed, threshold,
                           f"{len(never) + len(failed) + len(old)} of {len(needed)} tests guarding"
                           " the export have no recent full-table pass (a delta pass proves only"
                           f" the new rows): {', '.join(p for p in parts if p)}, e.g. {example};"
                           " run `syncgov run --cadence full_table_tests`")
    return CheckResult("full_table_tests", PASS, observed, threshold,
                       f"all {len(needed)} delta-scoped and full-table tests guarding the export"
                       f" passed over their whole tables within {hours:g} h" if needed else
                       "no guarding test is scoped to a delta or full-table only")


def _older_than(inputs: GateInputs, moment: datetime | None, slo: int | None) -> float | None:
    """Age in minutes of evidence from `moment` when it is older than `slo` minutes."""
    if moment is None or slo is None:
        return None
    age = (inputs.evaluated_at - moment).total_seconds() / 60
    return round(age, 1) if age > slo else None


def _evidence(inputs: GateInputs) -> Iterable[CheckResult]:
    """Each model's evidence comes from the invocation that built its rows (or a later one)
    and is no older than the SLO of the domains it reads."""
    for model in inputs.evidence:
        built, threshold = model.built, "from the invocation that built the rows, within SLO"
        if built is not None:
            run = model.run
            if run is None or not _covers(run, built):
                seen = (f"; the latest completed result is from invocation {run.invocation_id}"
                        if run and run.invocation_id else "")
                yield CheckResult(
                    "evidence", BLOCK, {"model": model.name, "built_by": built.invocation_id},
                    threshold, f"rows of {model.name} were rebuilt by invocation"
                    f" {built.invocation_id} at {built.built_at:%Y-%m-%d %H:%M:%S}, which"
                    f" recorded no result (killed or still running){seen}")
                continue
            # a full_table test does not run in a cycle: `full_table_tests` judges its age
            stale = [t.name for t in model.tests if t.cost != FULL_TABLE
                     and (t.run is None or not _covers(t.run, built))]
            if stale:
                yield CheckResult(
                    "evidence", BLOCK, {"model": model.name, "stale_tests": stale}, threshold,
                    f"{len(stale)} test(s) on {model.name} come from another invocation than"
                    f" {built.invocation_id}, which built its rows, e.g. {stale[0]}")
                continue
        moments = [t.run.recorded_at for t in model.tests
                   if t.cost != FULL_TABLE and t.run and t.run.recorded_at]
        oldest = min(moments, default=None)
        age = _older_than(inputs, oldest, model.slo_minutes)
        if age is not None:
            yield CheckResult(
                "evidence", BLOCK, {"model": model.name, "age_minutes": age}, model.slo_minutes,
                f"the test evidence on {model.name} is {age} min old, older than the"
                f" {model.slo_minutes} min SLO of the data it holds")
            continue
        yield CheckResult("evidence", PASS, {"model": model.name}, threshold,
                          f"{model.name}: built and tested by the same invocation, within SLO")


def _covers(run: NodeRun, built: Built) -> bool:
    """The result was recorded by the building invocation, or completed after the build."""
    if run.invocation_id is not None and run.invocation_id == built.invocation_id:
        return True
    return run.recorded_at is not None and run.recorded_at >= built.built_at


def _domain_checks(inputs: GateInputs, domain: UpstreamDomain) -> Iterable[CheckResult]:
    gate = inputs.spec.gate
    health = domain.health
    slo = domain.spec.slo_minutes if domain.spec else None
    health_age = _older_than(inputs, health.evaluated_at if health else None, slo)
    if health_age is not None:
        yield CheckResult("evidence", BLOCK, {"health_age_minutes": health_age}, slo,
                          f"the health of {domain.name!r} was computed {health_age} min ago,"
                          f" older than its {slo} min SLO: run `dbt build` (or `syncgov run`)",
                          domain.name)
    status = health.status if health else "unknown"
    reason = (health.reason if health else None) or "no sync_health row for the domain"
    if status in ("delayed", "failed", "unknown"):
        yield _degrade(inputs, domain, "domain_status", status, "current",
                       f"domain {domain.name!r} is {status} ({reason})")
    else:
        yield CheckResult("domain_status", PASS, status, "current",
                          f"domain {domain.name!r} is {status}", domain.name)
    unreconciled = health.unreconciled_batches if health else 0
    allowed = gate.max_unreconciled_batches
    if unreconciled > allowed:
        yield _degrade(inputs, domain, "unreconciled_batches", unreconciled, allowed,
                       f"domain {domain.name!r} has {unreconciled} unreconciled batch(es) in the"
                       f" health window, more than the {allowed} tolerated")
    elif unreconciled:
        yield CheckResult("unreconciled_batches", WARN, unreconciled, allowed,
                          f"domain {domain.name!r} has {unreconciled} unreconciled batch(es),"
                          " within the export's tolerance", domain.name)
    else:
        yield CheckResult("unreconciled_batches", PASS, 0, allowed,
                          f"every batch of {domain.name!r} in the health window reconciled",
                          domain.name)
    yield from _freshness(inputs, domain)
    ratio = health.quarantine_ratio if health else 0.0
    limit = gate.max_quarantine_ratio
    yield CheckResult(
        "quarantine_ratio", BLOCK if ratio > limit else PASS, round(ratio, 6), limit,
        f"domain {domain.name!r} quarantined {ratio:.2%} of its landed rows"
        + (f", above the {limit:.2%} allowed" if ratio > limit else f" (at most {limit:.2%})"),
        domain.name)
    drifted = health.drifted_keys if health else 0
    yield CheckResult(
        "drift", WARN if drifted else PASS, drifted, 0,
        f"{drifted} key(s) of {domain.name!r} differ from the sources' latest extracts"
        if drifted else f"domain {domain.name!r} agrees with the sources' extracts", domain.name)


def _freshness(inputs: GateInputs, domain: UpstreamDomain) -> Iterable[CheckResult]:
    require = inputs.spec.gate.require_upstream_fresh
    if not inputs.freshness_checked:
        yield CheckResult("source_freshness", BLOCK if require else WARN, "no sources.json",
                          "dbt source freshness results", f"no freshness results for"
                          f" {domain.name!r}: run `dbt source freshness` before `syncgov export`",
                          domain.name)
        return
    slo = domain.spec.slo_minutes if domain.spec else None
    age = _older_than(inputs, inputs.sources_generated_at, slo)
    if age is not None and domain.sources:
        yield CheckResult("source_freshness", BLOCK if require else WARN,
                          {"sources_json_age_minutes": age}, slo,
                          f"the freshness results (sources.json) are {age} min old, older than"
                          f" the {slo} min SLO of {domain.name!r}: run `dbt source freshness`",
                          domain.name)
        return
    for source, result in domain.sources:
        label = source.split(".", 2)[-1]
        if result is None:
            yield CheckResult("source_freshness", WARN, "not checked", "pass",
                              f"source {label} was not checked by `dbt source freshness`",
                              domain.name)
            continue
        age = None if result.age_seconds is None else round(result.age_seconds / 60, 1)
        observed = {"source": label, "status": result.status, "age_minutes": age}
        if result.status in ("error", "runtime error"):
            problem = (f"source {label} is stale: last batch {age} min ago, error after"
                       f" {result.error_after}" if result.status == "error"
                       else f"freshness of source {label} could not be checked")
            if require:
                yield _degrade(inputs, domain, "source_freshness", observed,
                               result.error_after, problem)
            else:
                yield CheckResult("source_freshness", WARN, observed, result.error_after,
                                  problem + " (the export does not require fresh upstream)",
                                  domain.name)
        elif result.status == "warn":
            yield CheckResult("source_freshness", WARN, observed, result.error_after,
                              f"source {label} is past its warn threshold ({age} min)",
                              domain.name)
        else:
            yield CheckResult("source_freshness", PASS, observed, result.error_after,
                              f"source {label} is fresh ({age} min)", domain.name)


def _conflicts(inputs: GateInputs) -> CheckResult:
    """Open conflicts on exported fields warn; above the export's max_open_conflicts they block.

    Under `manual_review` the state keeps the owner's value while a steward decides, so what
    the export sends is the governed value; publishing it overwrites the other writer's copy in
    the target, whose value stays on record in sync_conflicts. Exports that must not do that
    set max_open_conflicts (0: any open conflict blocks).
    """
    open_ = {k: n for k, n in sorted(inputs.open_conflicts.items()) if n}
    total = sum(open_.values())
    allowed = inputs.spec.gate.max_open_conflicts
    listed = ", ".join(f"{k} {n}" for k, n in open_.items())
    if allowed is not None and total > allowed:
        return CheckResult("open_conflicts", BLOCK, open_, allowed,
                           f"{total} open conflict(s) on exported fields ({listed}) await manual"
                           f" review, more than the {allowed} allowed")
    if total:
        return CheckResult("open_conflicts", WARN, open_, allowed,
                           f"{total} open conflict(s) on exported fields ({listed}) await manual"
                           " review; the export sends the system of record's value")
    return CheckResult("open_conflicts", PASS, open_, allowed,
                       "no open conflict on an exported field")


def _row_change(inputs: GateInputs) -> CheckResult:  # noqa: PLR0911 - one return per outcome
    spec = inputs.spec
    current, previous = inputs.rows_current, inputs.rows_previous
    limit = spec.gate.max_row_change_ratio
    observed = {"current": current, "previous": previous}
    if current == 0:
        return CheckResult("row_count_change", BLOCK, observed, "at least 1 row",
                           "the export model is empty; an empty export is never published")
    if previous is None:
        return CheckResult("row_count_change", PASS, observed, limit,
                           f"first publication: {current} rows")
    if previous == 0:
        return CheckResult("row_count_change", WARN, observed, limit,
                           f"{current} rows where the previous publication had none")
    ratio = (current - previous) / previous
    observed["delta_pct"] = round(ratio * 100, 2)
    if abs(ratio) <= limit:
        return CheckResult("row_count_change", PASS, observed, limit,
                           f"{current} rows, {ratio:+.1%} against the previous publication")
    change = f"{current} rows, {ratio:+.1%} against the previous publication ({previous})"
    if spec.mode == "mirror" and ratio < 0:
        deletes = previous - current
        if spec.gate.allow_mass_delete:
            return CheckResult("row_count_change", WARN, observed, limit,
                               f"{change}: the mirror deletes {deletes} target records"
                               " (allowed by allow_mass_delete)")
        return CheckResult("row_count_change", BLOCK, observed, limit,
                           f"{change}: the mirror would delete {deletes} target records,"
                           f" more than {limit:.0%}; set gate.allow_mass_delete to publish it")
    return CheckResult("row_count_change", WARN, observed, limit,
                       f"{change}, more than {limit:.0%}")


def evaluate(inputs: GateInputs) -> GateResult:
    checks: list[CheckResult] = [*_safety(inputs.spec), _lint(inputs), _model(inputs),
                                 _tests(inputs), _full_table_tests(inputs), *_evidence(inputs)]
    for domain in inputs.domains:
        checks.extend(_domain_checks(inputs, domain))
    checks += [_conflicts(inputs), _row_change(inputs)]
    return _result(inputs.spec, checks)


def _result(spec: ExportSpec, checks: Sequence[CheckResult]) -> GateResult:
    statuses = {c.status for c in checks}
    worst = BLOCK if BLOCK in statuses else WARN if WARN in statuses else PASS
    retries = [c.retry_at for c in checks if c.status == BLOCK and c.retry_at is not None]
    held = tuple(dict.fromkeys(c.domain for c in checks
                               if c.action == "queue" and c.status == BLOCK and c.domain))
    degraded = any(c.action == "degrade_to_batch" for c in checks)
    return GateResult(
        verdict=VERDICTS[worst],
        checks=tuple(checks),
        effective_schedule=spec.degraded_schedule if degraded else spec.schedule,
        degraded=degraded,
        retry_at=max(retries) if retries and worst == BLOCK else None,
        held_for=held,
    )
