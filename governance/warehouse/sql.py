"""The SQL syncgov issues itself, written once and rendered for each engine.

Statements are written in DuckDB's dialect with `?` placeholders. On DuckDB they run as
written, the values bound by DuckDB. For Snowflake sqlglot translates them (`interval 30 day`,
types such as `timestamp` -> `timestamp_ntz`) and the values are inlined as typed literals,
so what reaches Snowflake is one self-contained statement that can be logged and re-parsed.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from governance.errors import InputError

SOURCE_DIALECT = "duckdb"


def quote(identifier: str, engine: str) -> str:
    """A quoted identifier that names what dbt created. dbt-snowflake does not quote, so
    Snowflake stores every name in upper case; DuckDB keeps the case as written."""
    name = identifier.upper() if engine == "snowflake" else identifier
    return '"' + name.replace('"', '""') + '"'


@lru_cache(maxsize=512)
def _parse(sql: str) -> tuple[exp.Expression, ...]:
    try:
        return tuple(s for s in sqlglot.parse(sql, read=SOURCE_DIALECT) if s is not None)
    except SqlglotError as exc:  # a bug in syncgov, not in the user's input
        raise InputError(f"cannot render syncgov's own SQL for Snowflake ({exc}): {sql[:200]}"
                         ) from None


def _literal(value: object) -> exp.Expression:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int | float | decimal.Decimal):
        return exp.Literal.number(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "timestamp_ntz",
                        dialect="snowflake")
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), "date")
    if isinstance(value, str):
        return exp.Literal.string(value)
    raise TypeError(f"cannot bind {type(value).__name__} into SQL")


def render_snowflake(sql: str, params: Sequence[object] = ()) -> str:
    """`sql` (DuckDB dialect, `?` placeholders) as one Snowflake statement with `params`
    inlined in order."""
    statements = [s.copy() for s in _parse(sql)]
    values = iter(params)
    count = 0

    def bind(node: exp.Expression) -> exp.Expression:
        nonlocal count
        if isinstance(node, exp.Placeholder):
            count += 1
            try:
                return _literal(next(values))
            except StopIteration:
                raise TypeError(f"{sql[:80]}: more placeholders than values") from None
        return node

    rendered = [s.transform(bind).sql(dialect="snowflake") for s in statements]
    if count != len(params):
        raise TypeError(f"{sql[:80]}: {count} placeholders for {len(params)} values")
    return ";\n".join(rendered)


def placeholders(values: Sequence[object]) -> str:
    """`(?, ?, …)` for an `in` list: both engines take a list this way."""
    return "(" + ", ".join("?" for _ in values) + ")"
