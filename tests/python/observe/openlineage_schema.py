"""Validate OpenLineage events against the 2-0-2 JSON Schemas vendored in
tests/fixtures/openlineage/ (copied from the OpenLineage repository, see its README) and
syncgov's own facet schema: the event as a RunEvent, then every facet against its facet
schema. A facet without a known schema is an error, so nothing goes out unchecked."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

REPO = Path(__file__).resolve().parents[3]
VENDORED = REPO / "tests" / "fixtures" / "openlineage"
OWN = REPO / "governance" / "schemas" / "openlineage"
CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json"

_schemas = [json.loads(p.read_text()) for p in (*sorted(VENDORED.glob("*.json")),
                                                 *sorted(OWN.glob("*.json")))]
_registry = Registry().with_resources(
    (s["$id"], Resource.from_contents(s)) for s in _schemas)
_by_facet: dict[tuple[str, str], dict] = {}
for _s in _schemas:
    for _name in _s.get("properties", {}):
        # OwnershipJobFacet and OwnershipDatasetFacet share the facet name `ownership`
        where = "job" if _s["$id"].endswith("JobFacet.json") else \
            "run" if _s["$id"].endswith("RunFacet.json") else "dataset"
        _by_facet[(where, _name)] = _s


def _validator(schema: dict) -> Draft202012Validator:
    return Draft202012Validator(schema, registry=_registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


_run_event = _validator({"$ref": f"{CORE}#/$defs/RunEvent"})


def errors(event: dict[str, Any]) -> list[str]:
    """Every schema violation of `event` (empty when it validates)."""
    found = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
             for e in _run_event.iter_errors(event)]
    # jsonschema checks `uuid` but `date-time` only with an extra package: RFC 3339 by hand
    try:
        uuid.UUID(event["run"]["runId"])
        moment = datetime.fromisoformat(event["eventTime"])
        if moment.tzinfo is None or "T" not in event["eventTime"]:
            found.append(f"eventTime: {event['eventTime']!r} is not RFC 3339 with an offset")
    except (KeyError, ValueError) as exc:
        found.append(f"runId or eventTime: {exc}")
    facets: list[tuple[str, str, str, Any]] = []
    facets += [("run", "run.facets", n, f) for n, f in event["run"].get("facets", {}).items()]
    facets += [("job", "job.facets", n, f) for n, f in event["job"].get("facets", {}).items()]
    for side in ("inputs", "outputs"):
        for d in event.get(side, []):
            for key in ("facets", "inputFacets", "outputFacets"):
                facets += [("dataset", f"{side}[{d['name']}].{key}", n, f)
                           for n, f in d.get(key, {}).items()]
    for where, path, name, value in facets:
        schema = _by_facet.get((where, name))
        if schema is None:
            found.append(f"{path}.{name}: no schema for this facet")
            continue
        found += [f"{path}.{name}: {e.message}"
                  for e in _validator(schema).iter_errors({name: value})]
    return found
