"""drt (drt-core) renderer: a drt project whose syncs deliver each publishable batch.

Each sync reads the export model from the warehouse through the project's profile (DuckDB by
default: `~/.drt/profiles.yml` names the warehouse file) and writes the target table through a
PostgreSQL connection string taken from `SYNCGOV_<SYSTEM>_DSN` at run time, so no secret is
ever rendered.

Upsert, update and insert exports run in drt's incremental mode on the change-timestamp
column: drt keeps the delivered watermark in the project's `.drt/state.json` and fetches rows
after it, up to the gate's watermark_to — never a row the gate has not seen. A first run
starts at the manifest's watermark_from. If a run fails, drt's watermark stays where it was
and the next publication re-sends from there; upserts make that harmless.

Mirror exports send the whole model (drt deletes target rows it did not see) with drt's
delete guard set to the gate's row-change threshold; an empty batch (nothing changed since the
previous publication) is not rendered, so an unchanged mirror does not rewrite the target.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from governance.exports.renderers import (
    HEADER,
    Rendering,
    RenderOptions,
    plain_timestamp,
    remove_rendered,
    select_list,
    source_relation,
    sql_string,
    write_text,
)

EPOCH = "1970-01-01 00:00:00"
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


def _model_sql(manifest: dict[str, Any]) -> str:
    cursor = manifest["source"]["cursor_column"]
    sql = f"select\n    {select_list(manifest)}\nfrom {source_relation(manifest)}"
    if manifest["destination"]["mode"] == "mirror":
        return sql + "\n"
    upper = plain_timestamp(manifest["batch"]["watermark_to"])
    return (sql + f"\nwhere \"{cursor}\" > cast('{{{{ cursor_value }}}}' as timestamp)"
            + (f"\n    and \"{cursor}\" <= cast({sql_string(upper)} as timestamp)" if upper else "")
            + "\n")


def sync_document(manifest: dict[str, Any]) -> dict[str, Any]:
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
        options["mode"] = "incremental"
        options["cursor_field"] = manifest["source"]["cursor_column"]
        options["watermark"] = {
            "default_value": plain_timestamp(manifest["batch"]["watermark_from"]) or EPOCH}
        options["match_policy"] = MATCH_POLICY[destination["mode"]]
    options.update({
        "field_mappings": mappings,
        "batch_size": 500,
        "on_error": "skip" if policy["max_failed_pct"] > 0 else "fail",
        "retry": {"max_attempts": policy["retries"] + 1},
        "dlq": {"enabled": policy["dead_letter"]},
    })
    document: dict[str, Any] = {
        "name": manifest["export_id"],
        "description": (f"{manifest['description']} [batch {manifest['batch']['batch_id']},"
                        f" verdict {manifest['gate']['verdict']}]").strip(),
        "tags": ["syncgov", f"target:{destination['system']}",
                 f"verdict:{manifest['gate']['verdict']}"],
        "model": _model_sql(manifest),
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
