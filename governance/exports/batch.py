"""The batch a publication offers a consumer: the rows changed since the last confirmed delivery.

The window is (watermark_from, watermark_to] on the export model's change-timestamp column:
watermark_from is the export's last confirmed delivery (audit.sync_delivery_log's
watermark_confirmed; nothing before the first), and watermark_to is the newest change in the
model now. A publication that was never delivered, or whose delivery the target rejected,
moves nothing: the next window still starts at the confirmed position and carries every change
since. The idempotency key is a digest of
the window: a consumer that sees the same key again has already applied that batch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from governance.exports.audit_log import Publication
from governance.exports.evidence import ModelStats


@dataclass(frozen=True)
class Batch:
    batch_id: str
    idempotency_key: str
    watermark_column: str
    watermark_from: datetime | None
    watermark_to: datetime | None
    rows_in_batch: int
    empty: bool


def plan_batch(export_id: str, cursor: str, previous: Publication | None, stats: ModelStats,
               rows_in_batch: int, confirmed: datetime | None = None) -> Batch:
    """`confirmed` is the last confirmed delivery's watermark; `previous` (the last
    publication) only gives the row-count baseline."""
    start = confirmed
    end = stats.max_cursor
    if start is not None and (end is None or end < start):
        end = start  # the newest rows left the model: the watermark never moves backwards
    key = hashlib.sha256(
        f"{export_id}|{_text(start)}|{_text(end)}|{stats.rows}".encode()).hexdigest()[:32]
    stamp = end.strftime("%Y%m%dT%H%M%S") if end else "none"
    return Batch(
        batch_id=f"{export_id}-{stamp}-{key[:8]}",
        idempotency_key=key,
        watermark_column=cursor,
        watermark_from=start,
        watermark_to=end,
        rows_in_batch=rows_in_batch,
        empty=(previous is not None and confirmed is not None and rows_in_batch == 0
               and stats.rows == previous.rows_current),
    )


def _text(moment: datetime | None) -> str:
    return moment.isoformat() if moment else "-"
