"""The columns of audit.sync_export_log that readers rely on (issue 5's contract with the
operator surface), written down once for the tests that check it."""

from __future__ import annotations

CONTRACT_TYPES: dict[str, str] = {
    "export_id": "VARCHAR", "evaluated_at": "TIMESTAMP", "verdict": "VARCHAR",
    "reasons": "VARCHAR", "batch_id": "VARCHAR", "watermark_from": "TIMESTAMP",
    "watermark_to": "TIMESTAMP", "rows_current": "BIGINT", "rows_previous": "BIGINT",
    "manifest_path": "VARCHAR"}
