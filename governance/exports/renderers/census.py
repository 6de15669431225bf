"""Census GitLink renderer: one sync definition (YAML) per export under `census/syncs/`.

GitLink materialises whatever the repository holds, and deleting a sync's file deletes the
sync in Census, so every evaluated export is rendered: a blocked export as a paused sync (not
runnable), a publishable one unpaused. The sync reads a SQL model bounded by the gate's
watermark_to, so Census never sends a row the gate has not seen; Census computes which rows
changed against its own bookkeeping, so no lower bound is needed. Census takes `create` for
insert-only syncs and cron schedules in UTC, with ranges written as lists.
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
from governance.exports.renderers.drt import BlockDumper

OPERATION = {"upsert": "upsert", "update": "update", "insert": "create", "mirror": "mirror"}


def sync_document(manifest: dict[str, Any], options: RenderOptions) -> dict[str, Any]:
    destination = manifest["destination"]
    cursor = manifest["source"]["cursor_column"]
    upper = plain_timestamp(manifest["batch"]["watermark_to"])
    query = f"select\n    {select_list(manifest)}\nfrom {source_relation(manifest)}\n"
    if upper:
        query += f"where \"{cursor}\" <= cast({sql_string(upper)} as timestamp)\n"
    keys = {k["source_column"] for k in destination["match_key"]}
    blocked = manifest["gate"]["verdict"] == "blocked"
    return {
        "label": f"syncgov {manifest['export_id']}: {destination['system']}.{destination['object']}",
        "paused": blocked,
        "behavior": {"operation": OPERATION[destination["mode"]]},
        "source": {
            "connection": options.census_source_connection,
            "object": {"type": "model", "name": manifest["export_id"], "query": query},
        },
        "destination": {"connection": destination["system"], "object": destination["object"]},
        "mappings": [
            {"from": {"type": "column", "data": f["source_column"]},
             "to": f["target_field"],
             "is_primary_identifier": f["source_column"] in keys}
            for f in manifest["fields"]
        ],
        "triggers": {"schedule": {"frequency": "cron",
                                  "cron": manifest["schedule"]["effective_cron"]}},
        "alerts": [
            {"type": "FailureAlertConfiguration", "send_for": "first_time",
             "should_send_recovery": True},
            {"type": "InvalidRecordPercentAlertConfiguration", "send_for": "every_time",
             "should_send_recovery": True,
             "options": {"threshold": manifest["error_policy"]["max_failed_pct"]}},
        ],
    }


def render(manifests: list[dict[str, Any]], out_dir: Path, declared: Iterable[str],
           options: RenderOptions) -> dict[str, Rendering]:
    folder = out_dir / "census" / "syncs"
    results: dict[str, Rendering] = {}
    for manifest in manifests:
        export_id = manifest["export_id"]
        gate = manifest["gate"]
        path = folder / f"{export_id}.yml"
        note = f"{HEADER} from manifest {export_id}.json (batch {manifest['batch']['batch_id']})."
        if gate["verdict"] == "blocked":
            note += "\n# PAUSED: the export gate blocked this batch:\n" + "\n".join(
                f"#   {r['check']}: {r['message']}" for r in gate["reasons"] if r["status"] == "block")
        write_text(path, note + "\n" + yaml.dump(sync_document(manifest, options),
                                                 Dumper=BlockDumper, sort_keys=False,
                                                 allow_unicode=True, width=100))
        results[export_id] = Rendering(path, "blocked: rendered paused"
                                       if gate["verdict"] == "blocked" else None)
    remove_rendered(folder, (), declared)
    return results
