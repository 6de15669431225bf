"""A loader declaration that would put free text into SQL, or names an unknown mode, fails when
dbt compiles it, with the adapter's and the argument's name."""

from __future__ import annotations

import pytest

from governance.errors import DbtError
from tests.e2e.loader_harness import LandingTable, project_warehouse

pytestmark = pytest.mark.slow

CASES = {
    "debezium_bad_column": (
        "{{ debezium_events(source('raw', 't'), 'erp', ['id'], ['id', 'name; drop table x']) }}",
        "debezium_events: columns must be a column name",
    ),
    "airbyte_bad_mode": (
        "{{ airbyte_events(source('raw', 't'), 'erp', ['id'], ['id'], table='deduped') }}",
        "airbyte_events: table must be one of raw, final, got deduped",
    ),
    "fivetran_key_missing": (
        "{{ fivetran_events(source('raw', 't'), 'erp', [], ['id']) }}",
        "fivetran_events: key must name at least one column",
    ),
    "dlt_bad_cursor": (
        "{{ dlt_events(source('raw', 't'), 'erp', ['id'], ['id'], source('raw', 'l'), event_at_column='x)--') }}",
        "dlt_events: event_at_column must be a column name",
    ),
    "debezium_key_not_in_columns": (
        "{{ debezium_events(source('raw', 't'), 'erp', ['id'], ['name']) }}",
        "debezium_events: key column id must also be listed in columns",
    ),
    "loader_unknown_option": (
        "{{ loader_landing('fivetran', source('raw', 't'), 'erp', ['id'], ['id'], {'history': true}) }}",
        "loader fivetran: unknown option history (known: mode, event_at_column)",
    ),
    "loader_unknown_kind": (
        "{{ loader_landing('stitch', source('raw', 't'), 'erp', ['id'], ['id']) }}",
        "loader kind must be one of debezium, airbyte, fivetran, dlt, got stitch",
    ),
    "loader_dlt_without_loads": (
        "{{ loader_landing('dlt', source('raw', 't'), 'erp', ['id'], ['id'], {'deleted_column': 'd'}) }}",
        "loader dlt: option loads (the dataset's _dlt_loads) is required",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_loader_arguments_fail_with_a_clear_message(tmp_path, case):
    sql, message = CASES[case]
    # the checks run when dbt parses the model, so one bad declaration per project
    table = LandingTable("erp", case, (("id", "string"), ("name", "string")), landing=sql,
                         ledger="select 1 as batch_id", raw_tables=("t", "l"))
    wh = project_warehouse(tmp_path, [table])
    with pytest.raises(DbtError) as failure:
        wh.dbt("parse")
    assert message in " ".join(str(failure.value).split()), str(failure.value)[-800:]
