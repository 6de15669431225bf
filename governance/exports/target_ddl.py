"""The PostgreSQL table an export writes, derived from the export model's enforced contract.

Column types come from the `data_type` each column declares in models/exports/_exports__models.yml
(read back from dbt's manifest.json); the match key becomes the primary key, which is also the
unique key drt's `ON CONFLICT` upsert needs. A type syncgov cannot translate is an error, never
a guess: the contract is the only source of a column's type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from governance.errors import InputError

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_DECIMAL = re.compile(r"^(?:decimal|numeric)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
_POSTGRES = {
    "varchar": "text",
    "text": "text",
    "string": "text",
    "bigint": "bigint",
    "integer": "integer",
    "int": "integer",
    "smallint": "smallint",
    "boolean": "boolean",
    "double": "double precision",
    "float": "double precision",
    "date": "date",
    "timestamp": "timestamp",
    "timestamp without time zone": "timestamp",
    "timestamp_ntz": "timestamp",
    "timestamp with time zone": "timestamptz",
}


@dataclass(frozen=True)
class TargetTable:
    table: str
    columns: tuple[tuple[str, str], ...]  # (target field, PostgreSQL type)
    key: tuple[str, ...]
    soft_delete_column: str | None

    @property
    def ddl(self) -> str:
        cols = [f"    {c} {t}" + (" not null" if c in self.key else "") for c, t in self.columns]
        if self.soft_delete_column:
            cols.append(f"    {self.soft_delete_column} timestamp")
        cols.append(f"    constraint {self.table}_match_key primary key ({', '.join(self.key)})")
        return f"create table if not exists {self.table} (\n" + ",\n".join(cols) + "\n)"


def postgres_type(data_type: str | None, column: str, model: str) -> str:
    if not data_type:
        raise InputError(f"{model}.{column} declares no data_type: the target table's type comes"
                         " from the model's enforced contract (models/exports/_exports__models.yml)")
    norm = " ".join(data_type.lower().split())
    decimal = _DECIMAL.match(norm)
    if decimal:
        return f"numeric({decimal[1]}, {decimal[2]})"
    if norm not in _POSTGRES:
        raise InputError(f"{model}.{column} has data_type {data_type!r}, which syncgov does not"
                         " translate to PostgreSQL; declare a portable type")
    return _POSTGRES[norm]


def target_table(manifest: dict[str, Any], model_columns: dict[str, Any]) -> TargetTable:
    """The table of one export manifest; `model_columns` is the dbt manifest node's columns."""
    destination = manifest["destination"]
    model = manifest["source"]["name"] or manifest["export_id"]
    names = [destination["object"], *(f["target_field"] for f in manifest["fields"])]
    if destination.get("soft_delete_column"):
        names.append(destination["soft_delete_column"])
    for name in names:
        if not _IDENT.match(name):
            raise InputError(f"export {manifest['export_id']}: {name!r} is not a plain lowercase"
                             " identifier; syncgov writes no other table or column names")
    columns = tuple(
        (f["target_field"],
         postgres_type((model_columns.get(f["source_column"]) or {}).get("data_type"),
                       f["source_column"], model))
        for f in manifest["fields"])
    return TargetTable(destination["object"], columns,
                       tuple(k["target_field"] for k in destination["match_key"]),
                       destination.get("soft_delete_column"))
