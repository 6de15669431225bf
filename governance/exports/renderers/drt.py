"""drt (drt-core) renderer: a drt project whose syncs deliver each publishable batch.

Each sync reads the export model from the warehouse through the project's profile (DuckDB by
default: `~/.drt/profiles.yml` names the warehouse file) and writes the target table through a
PostgreSQL connection string taken from `SYNCGOV_<SYSTEM>_DSN` at run time, so no secret is
ever rendered.

Upsert, update and insert exports run in drt's `full` mode over a window the model SQL names:
rows whose change timestamp is in the batch's (watermark_from, watermark_to], where
watermark_from is the export's last *confirmed* delivery (audit.sync_delivery_log). drt's own
incremental cursor is not used: drt moves it after any run that did not raise, also past rows
the target rejected. `syncgov deliver` renders the same document with its own lower bound and
the pending dead-letter keys, runs it in-process and confirms each row at the target; a bare
`drt run` of the rendered file re-sends the window until a delivery is confirmed.

Mirror exports send the whole model (drt deletes target rows it did not see) with drt's
delete guard set to the gate's row-change threshold; an empty batch (nothing changed since the
previous publication) is not rendered, so an unchanged mirror does not rewrite the target.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from governance.exports.renderers import (
    HEADER,
    Rendering,
    RenderOptions,
    plain_timestamp,
    quote,
    remove_rendered,
    select_list,
    source_relation,
    sql_string,
    write_text,
)

MATCH_POLICY = {"upsert": "upsert", "update": "update_only", "insert": "create_only"}


class BlockDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Multi-line strings (the model SQL) as YAML literal blocks; libyaml's emitter when
    available (it is five times faster at 500 exports)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


BlockDumper.add_representer(str, _str)


def dsn_env(system: str) -> str:
    return f"SYNCGOV_{system.upper()}_DSN"


@dataclass(frozen=True)
class Window:
    """The rows one delivery sends: changed in (lower, upper] on the cursor, plus the keys of
    pending dead letters (re-sent whatever their cursor). Rendered into the model SQL, so drt
    keeps no cursor of its own that could skip a row syncgov has not confirmed."""

    lower: str | None  # plain timestamp, exclusive; None: from the beginning
    upper: str | None  # plain timestamp, inclusive; None: no row in the model
    retry_keys: tuple[tuple[str, ...], ...] = ()


def manifest_window(manifest: dict[str, Any]) -> Window:
    batch = manifest["batch"]
    return Window(plain_timestamp(batch["watermark_from"]), plain_timestamp(batch["watermark_to"]))


def model_sql(manifest: dict[str, Any], window: Window | None = None) -> str:
    """The query drt runs: every mapped column of the export model; for a mirror every row,
    otherwise the rows of the window."""
    sql = f"select\n    {select_list(manifest)}\nfrom {source_relation(manifest)}"
    if manifest["destination"]["mode"] == "mirror":
        return sql + "\n"
    window = window or manifest_window(manifest)
    cursor = quote(manifest["source"]["cursor_column"])
    if window.upper is None:
        changed = "false"
    else:
        changed = f"{cursor} <= cast({sql_string(window.upper)} as timestamp)"
        if window.lower is not None:
            changed = (f"{cursor} > cast({sql_string(window.lower)} as timestamp)"
                       f"\n    and {changed}")
    if not window.retry_keys:
        return sql + f"\nwhere {changed}\n"
    keys = [quote(k["source_column"]) for k in manifest["destination"]["match_key"]]
    values = ", ".join("(" + ", ".join(sql_string(v) for v in key) + ")"
                       for key in window.retry_keys)
    match = " and ".join(f"cast({k} as varchar) = retry.k{i}" for i, k in enumerate(keys))
    names = ", ".join(f"k{i}" for i in range(len(keys)))
    return (sql + f"\nwhere ({changed})\n    or exists (select 1 from (values {values})"
            f" as retry({names})\n        where {match})\n")


def sync_document(manifest: dict[str, Any], window: Window | None = None) -> dict[str, Any]:
    destination = manifest["destination"]
    policy = manifest["error_policy"]
    mappings = {f["source_column"]: f["target_field"] for f in manifest["fields"]}
    options: dict[str, Any] = {}
    if destination["mode"] == "mirror":
        options["mode"] = "mirror"
        options["mirror"] = {"strategy": "destination"}
        if destination["max_delete_pct"] is not None:
            options["guards"] = {"max_delete_pct": destination["max_delete_pct"]}
    else:
        # `full` over a window the SQL names: drt's incremental cursor would advance past
        # rows the target rejected (it moves on any run that did not raise).
        options["mode"] = "full"
        options["match_policy"] = MATCH_POLICY[destination["mode"]]
    options.update({
        "field_mappings": mappings,
        "batch_size": 500,
        "on_error": "skip" if policy["max_failed_pct"] > 0 else "fail",
        "retry": {"max_attempts": policy["retries"] + 1},
        # syncgov keeps rejected rows in audit.sync_dead_letters (drt's file queue could not
        # even write a Decimal)
        "dlq": {"enabled": False},
    })
    document: dict[str, Any] = {
        "name": manifest["export_id"],
        "description": (f"{manifest['description']} [batch {manifest['batch']['batch_id']},"
                        f" verdict {manifest['gate']['verdict']}]").strip(),
        "tags": ["syncgov", f"target:{destination['system']}",
                 f"verdict:{manifest['gate']['verdict']}"],
        "model": model_sql(manifest, window),
        "destination": {
            "type": "postgres",
            "connection_string_env": dsn_env(destination["system"]),
            "table": destination["object"],
            "upsert_key": [k["target_field"] for k in destination["match_key"]],
        },
        "sync": options,
    }
    if policy["max_failed_pct"] > 0:
        document["alerts"] = {"on_degraded": {"conditions": {
            "row_errors_pct": {"gt": policy["max_failed_pct"]}}}}
    return document


def project_document(profile: str) -> dict[str, Any]:
    return {"name": "syncgov_exports", "version": "1", "profile": profile}


def render(manifests: list[dict[str, Any]], out_dir: Path, declared: Iterable[str],
           options: RenderOptions) -> dict[str, Rendering]:
    folder = out_dir / "drt"
    write_text(folder / "drt_project.yml",
               f"{HEADER}: the drt project of the publishable exports.\n"
               f"# Profile `{options.drt_profile}` in ~/.drt/profiles.yml names the warehouse;"
               " each target's connection string is read from SYNCGOV_<SYSTEM>_DSN.\n"
               + yaml.safe_dump(project_document(options.drt_profile), sort_keys=False))
    results: dict[str, Rendering] = {}
    skipped = []
    for manifest in manifests:
        export_id = manifest["export_id"]
        verdict = manifest["gate"]["verdict"]
        if verdict == "blocked":
            skipped.append(export_id)
            results[export_id] = Rendering(None, "blocked: not rendered")
            continue
        if manifest["destination"]["mode"] == "mirror" and manifest["batch"]["empty"]:
            skipped.append(export_id)
            results[export_id] = Rendering(
                None, "nothing changed since the previous publication: a mirror is not re-sent")
            continue
        path = folder / "syncs" / f"{export_id}.yml"
        write_text(path, f"{HEADER} from manifest {export_id}.json (batch"
                   f" {manifest['batch']['batch_id']}); do not edit.\n"
                   + yaml.dump(sync_document(manifest), Dumper=BlockDumper, sort_keys=False,
                               allow_unicode=True, width=100))
        results[export_id] = Rendering(path)
    remove_rendered(folder / "syncs", skipped, declared)
    return results
