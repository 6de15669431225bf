"""Manifests and their renderings: the published schema, drt syncs that drt itself accepts,
Census GitLink syncs, and never a runnable rendering of a blocked export."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
import yaml
from drt.config.parser import load_syncs_safe
from export_inputs import (
    HELPDESK,
    NOW,
    PROCUREMENT,
    SPECS,
    STOREFRONT,
    manifest,
    passing,
    with_domain,
)

from governance.exports.audit_log import Publication
from governance.exports.batch import plan_batch
from governance.exports.evidence import ModelStats
from governance.exports.manifest import INDEX_SCHEMA_FILE, SCHEMA_FILE, schema, validation_errors
from governance.exports.renderers import HEADER, RenderOptions, census, drt

DECLARED = list(SPECS)
OPTIONS = RenderOptions()


def blocked(spec):  # the product domain fails: pause_downstream / its rule blocks
    domain = "customer" if spec is HELPDESK else "supplier" if spec is PROCUREMENT else "product"
    return manifest(spec, with_domain(passing(spec), domain, status="failed"))


@pytest.mark.parametrize("name", [SCHEMA_FILE, INDEX_SCHEMA_FILE])
def test_the_published_schemas_are_valid_draft_2020_12(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(schema(name))
    assert schema(name)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS)
def test_manifests_satisfy_the_schema(spec) -> None:
    assert validation_errors(manifest(spec)) == []
    assert validation_errors(blocked(spec)) == []


def test_the_schema_rejects_a_manifest_without_a_verdict() -> None:
    document = manifest(HELPDESK)
    document["gate"]["verdict"] = "maybe"
    del document["batch"]["idempotency_key"]
    assert sorted(validation_errors(document)) == [
        "batch: 'idempotency_key' is a required property",
        "gate.verdict: 'maybe' is not one of ['publishable', 'warn', 'blocked']"]


def test_a_manifest_describes_the_export() -> None:
    m = manifest(HELPDESK)
    assert m["destination"] == {
        "system": "helpdesk", "object": "contacts",
        "match_key": [{"source_column": "customer_id", "target_field": "external_id"}],
        "mode": "upsert", "delete_behaviour": "soft_delete",
        "soft_delete_column": "syncgov_deleted_at",
        "managed": False, "clearance": "pii", "max_delete_pct": None}
    assert [(f["source_column"], f["target_field"], f["role"], f["owner_system"],
             f["classification"]) for f in m["fields"]] == [
        ("customer_id", "external_id", "key", "crm", "internal"),
        ("account_name", "name", "field", "crm", "internal"),
        ("email", "email", "field", "crm", "pii"),
        ("phone", "phone", "field", "crm", "pii"),
        ("segment", "segment", "field", "crm", "internal"),
        ("credit_status", "credit_status", "field", "erp", "confidential"),
        ("_changed_at", "syncgov_changed_at", "change_timestamp", "warehouse", "internal")]
    assert m["owners"]["technical"]["contacts"] == ["ada.okafor@example.com",
                                                     "jonas.weber@example.com"]
    assert m["owners"]["steward"]["team"] == "customer-operations"
    assert m["escalation"][0] == {"team": "data-platform",
                                  "contact": "data-platform-oncall@example.com",
                                  "within_minutes": 15}
    assert m["review"] == [{"domain": "customer", "last_reviewed": "2026-10-01",
                            "review_cycle_days": 180, "next_review_due": "2027-03-30",
                            "overdue": False}]
    assert m["error_policy"] == {"max_failed_pct": 1, "retries": 3, "dead_letter": True}
    assert m["freshness"]["boundary"] == "2026-11-24T10:04:00Z"
    assert m["gate"]["verdict"] == "publishable"


def test_a_mirror_limits_its_deletes_to_the_row_change_threshold() -> None:
    assert manifest(PROCUREMENT)["destination"]["max_delete_pct"] == 30.0
    allowed = replace(PROCUREMENT, gate=replace(PROCUREMENT.gate, allow_mass_delete=True))
    assert manifest(allowed)["destination"]["max_delete_pct"] is None


# ---- drt ----

def _render_drt(tmp_path: Path, manifests: list[dict]) -> dict:
    return drt.render(manifests, tmp_path, DECLARED, OPTIONS)


def test_drt_accepts_every_rendered_sync(tmp_path: Path) -> None:
    results = _render_drt(tmp_path, [manifest(s) for s in SPECS.values()])
    assert {e: r.path.name for e, r in results.items()} == {e: f"{e}.yml" for e in SPECS}
    loaded = load_syncs_safe(tmp_path / "drt")
    assert loaded.errors == {}
    assert sorted(s.name for s in loaded.syncs) == sorted(SPECS)
    env = {**os.environ, "HOME": str(tmp_path / "home"), "DO_NOT_TRACK": "1"}
    out = subprocess.run([str(Path(sys.executable).with_name("drt")), "validate"],
                         cwd=tmp_path / "drt", env=env, capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_sync_owns_its_window_instead_of_drts_cursor(tmp_path: Path) -> None:
    batch = plan_batch(HELPDESK.export_id, "_changed_at", None,
                       ModelStats(True, 1000, NOW - timedelta(minutes=2)), 12,
                       confirmed=NOW - timedelta(minutes=40))
    _render_drt(tmp_path, [manifest(HELPDESK, batch=batch)])
    (sync,) = load_syncs_safe(tmp_path / "drt").syncs
    # `full` over the window the SQL names: drt keeps no cursor that could run ahead of what
    # the target confirmed
    assert sync.sync.mode == "full"
    assert sync.sync.match_policy == "upsert"
    assert sync.model.endswith(
        "where \"_changed_at\" > cast('2026-11-24 09:27:00' as timestamp)\n"
        "    and \"_changed_at\" <= cast('2026-11-24 10:05:00' as timestamp)\n")
    assert "cursor_value" not in sync.model
    assert sync.sync.field_mappings["customer_id"] == "external_id"
    assert sync.sync.field_mappings["_changed_at"] == "syncgov_changed_at"
    assert sync.destination.upsert_key == ["external_id"]
    assert sync.destination.connection_string_env == "SYNCGOV_HELPDESK_DSN"
    assert (sync.sync.on_error, sync.sync.retry.max_attempts) == ("skip", 4)
    assert sync.sync.dlq.enabled is False  # rejected rows go to audit.sync_dead_letters


def test_a_delivery_window_re_sends_dead_letters_by_key() -> None:
    document = drt.sync_document(manifest(HELPDESK), drt.Window(
        "2026-11-24 09:27:00", "2026-11-24 10:05:00", (("C-1",), ("O'Brien",))))
    assert document["model"].endswith(
        "where (\"_changed_at\" > cast('2026-11-24 09:27:00' as timestamp)\n"
        "    and \"_changed_at\" <= cast('2026-11-24 10:05:00' as timestamp))\n"
        "    or exists (select 1 from (values ('C-1'), ('O''Brien')) as retry(k0)\n"
        "        where cast(\"customer_id\" as varchar) = retry.k0)\n")
    nothing = drt.sync_document(manifest(HELPDESK), drt.Window(None, None))
    assert nothing["model"].endswith("where false\n")


def test_a_mirror_sync_sends_everything_behind_a_delete_guard(tmp_path: Path) -> None:
    _render_drt(tmp_path, [manifest(PROCUREMENT)])
    (sync,) = load_syncs_safe(tmp_path / "drt").syncs
    assert sync.sync.mode == "mirror"
    assert sync.sync.guards.max_delete_pct == 30.0
    assert "where" not in sync.model
    assert sync.sync.on_error == "fail"


def test_a_blocked_export_is_not_rendered_and_its_old_sync_is_removed(tmp_path: Path) -> None:
    _render_drt(tmp_path, [manifest(STOREFRONT)])
    stale = tmp_path / "drt" / "syncs" / f"{STOREFRONT.export_id}.yml"
    assert stale.read_text().startswith(HEADER)
    mine = tmp_path / "drt" / "syncs" / "hand_written.yml"
    mine.write_text("name: hand_written\n")
    results = _render_drt(tmp_path, [blocked(STOREFRONT)])
    assert results[STOREFRONT.export_id].path is None
    assert results[STOREFRONT.export_id].reason == "blocked: not rendered"
    assert not stale.exists()
    assert mine.exists()  # not syncgov's: left alone


def test_an_unchanged_mirror_is_not_re_sent(tmp_path: Path) -> None:
    previous = Publication(NOW - timedelta(hours=1), "b0", NOW - timedelta(minutes=2), 1000)
    batch = plan_batch(PROCUREMENT.export_id, "_changed_at", previous,
                       ModelStats(True, 1000, NOW - timedelta(minutes=2)), 0,
                       confirmed=NOW - timedelta(minutes=2))
    results = _render_drt(tmp_path, [manifest(PROCUREMENT, batch=batch)])
    assert results[PROCUREMENT.export_id].path is None
    assert not (tmp_path / "drt" / "syncs" / f"{PROCUREMENT.export_id}.yml").exists()


def test_the_drt_project_names_the_profile(tmp_path: Path) -> None:
    drt.render([], tmp_path, DECLARED, RenderOptions(drt_profile="prod_warehouse"))
    project = yaml.safe_load((tmp_path / "drt" / "drt_project.yml").read_text())
    assert project == {"name": "syncgov_exports", "version": "1", "profile": "prod_warehouse"}


# ---- Census ----

def test_census_syncs_map_keys_fields_and_schedule(tmp_path: Path) -> None:
    census.render([manifest(STOREFRONT)], tmp_path, DECLARED, OPTIONS)
    text = (tmp_path / "census" / "syncs" / f"{STOREFRONT.export_id}.yml").read_text()
    sync = yaml.safe_load(text)
    assert sync["paused"] is False
    assert sync["behavior"] == {"operation": "upsert"}
    assert sync["destination"] == {"connection": "storefront", "object": "product_availability"}
    assert [(m["from"]["data"], m["to"], m["is_primary_identifier"]) for m in sync["mappings"]] == [
        ("sku", "sku", True), ("product_name", "title", False), ("category", "category", False),
        ("lifecycle_status", "status", False), ("list_price", "price", False),
        ("currency", "currency", False), ("quantity_on_hand", "available_quantity", False),
        ("_changed_at", "syncgov_changed_at", False)]
    assert sync["triggers"] == {"schedule": {"frequency": "cron", "cron": "*/10 * * * *"}}
    assert sync["source"]["object"]["query"].endswith(
        "where \"_changed_at\" <= cast('2026-11-24 10:05:00' as timestamp)\n")
    assert sync["alerts"][1]["options"] == {"threshold": 0.5}


def test_a_blocked_export_becomes_a_paused_census_sync(tmp_path: Path) -> None:
    results = census.render([blocked(HELPDESK)], tmp_path, DECLARED, OPTIONS)
    text = results[HELPDESK.export_id].path.read_text()
    assert yaml.safe_load(text)["paused"] is True
    assert "# PAUSED: the export gate blocked this batch:" in text
    assert "#   domain_status: domain 'customer' is failed" in text
    assert results[HELPDESK.export_id].reason == "blocked: rendered paused"


def test_census_operations_follow_the_mode(tmp_path: Path) -> None:
    specs = [replace(HELPDESK, export_id=f"m_{mode}", mode=mode)
             for mode in ("upsert", "update", "insert", "mirror")]
    census.render([manifest(s) for s in specs], tmp_path, [s.export_id for s in specs], OPTIONS)
    operations = {s.mode: yaml.safe_load((tmp_path / "census" / "syncs" / f"{s.export_id}.yml")
                                         .read_text())["behavior"]["operation"] for s in specs}
    assert operations == {"upsert": "upsert", "update": "update", "insert": "create",
                          "mirror": "mirror"}
