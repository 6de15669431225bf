"""The latest gate verdict of every declared export, for people and monitors.

`syncgov export` evaluates the gates and records each verdict in audit.sync_export_log; this
module only reads them back next to the registry's exports. An export that was never
evaluated (or a warehouse without the log) shows as `not_evaluated`, never as an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governance.control_tables import ExportEvaluation
from governance.registry import RegistryFile
from governance.registry.model import parse_field_ref

Registry = dict[str, RegistryFile]
NOT_EVALUATED = "not_evaluated"
VERDICTS = ("publishable", "warn", "blocked", NOT_EVALUATED)


@dataclass(frozen=True)
class ExportVerdict:
    export_id: str
    domain: str
    # domains whose fields the export carries (`inventory.quantity_on_hand` names inventory)
    reads_domains: tuple[str, ...]
    model: str
    target_system: str
    target_object: str
    schedule: str | None
    verdict: str
    evaluated_at: datetime | None
    reasons: tuple[dict[str, Any], ...]
    batch_id: str | None

    @property
    def reason_text(self) -> str:
        if self.verdict == NOT_EVALUATED:
            return "no gate evaluation recorded yet (run `syncgov export`)"
        return "; ".join(str(r.get("message") or r.get("check") or "no reason given")
                         for r in self.reasons)


def export_domains(export: dict) -> tuple[str, ...]:
    """The export's own domain first, then every other domain a field mapping reads from."""
    mapped = (parse_field_ref(ref, export["domain"])[0] for ref in (export.get("fields") or {}).values()
              if isinstance(ref, str))
    return tuple(dict.fromkeys([export["domain"], *mapped]))


def export_verdicts(registry: Registry, log: dict[str, ExportEvaluation] | None,
                    ) -> tuple[ExportVerdict, ...]:
    """One verdict per declared export, in registry order (the latest logged evaluation)."""
    out = []
    for export_id, spec in registry["exports"].data["exports"].items():
        evaluation = (log or {}).get(export_id)
        target = spec.get("target", {})
        out.append(ExportVerdict(
            export_id=export_id,
            domain=spec["domain"],
            reads_domains=export_domains(spec),
            model=spec["model"],
            target_system=target.get("system", ""),
            target_object=target.get("object", ""),
            schedule=spec.get("schedule"),
            verdict=evaluation.verdict if evaluation else NOT_EVALUATED,
            evaluated_at=evaluation.evaluated_at if evaluation else None,
            reasons=evaluation.reasons if evaluation else (),
            batch_id=evaluation.batch_id if evaluation else None,
        ))
    return tuple(out)
