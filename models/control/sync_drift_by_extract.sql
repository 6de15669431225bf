{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['landing_table'],
    on_schema_change='fail',
) }}
{#- the key names what a run replaces (every row of a compared table), not a row: the rows'
    grain is the drift of sync_drift plus one `compared` marker per table, which
    tests/dbt/assert_one_drift_comparison_per_extract.sql checks. A changed column list fails
    the run rather than leaving the markers of tables not compared since without their counts:
    `--full-refresh --select sync_drift_by_extract` compares every extract anew. -#}

{#-
    Drift between each source's full extract and the warehouse state, per key: a key the
    source has but the warehouse lacks (or holds as a tombstone), a live key the source no
    longer has, and, per field, values that differ. One full outer join per extract compares
    the rows column by column (null-safe) and keeps only keys that differ, carrying both sides'
    values, so the field-level diff reads those few rows and never joins the extract again.
    The compared columns and their types come from the state relation, so a column added to a
    model is compared without a change here.

    Per extract: a table is compared when its extract is new (another latest `_extracted_at` or
    row count than the one last compared), on a full refresh and on a replay (which rewrites
    state); otherwise its rows stay as they are (issue 18: drift runs when a new extract
    arrives, not every cycle). Every comparison leaves one `compared` row per table, also when
    nothing drifted, that records the extract it compared: the probe of the next run.
    `sync_drift` shows the drift rows without these markers.
-#}
{%- set metadata = ['_is_deleted', '_event_id', '_source_system', '_source_event_at', '_loaded_at',
    '_sync_batch_id', '_staged_at', '_applied_at', '_dbt_invocation_id'] -%}
{%- set extracted = sync_landing_tables() | selectattr('extract', 'undefined') | list -%}
{%- set tables = syncgov.drift_tables_due(extracted) -%}

{%- for t in tables %}
{%- set name = t.system ~ '__' ~ t.entity %}
{%- set state_relation = ref(t.state) %}
{%- set extract_relation = source(t.system, t.entity ~ '_extract') %}
{%- set columns = [] %}
{%- if execute %}
{%- for col in adapter.get_columns_in_relation(state_relation) %}
{%- if col.name | lower not in metadata and col.name | lower != t.key %}
{%- do columns.append(col) %}
{%- endif %}
{%- endfor %}
{%- endif %}

{{ 'with' if loop.first else ',' }} extract_probe__{{ name }} as (

    -- the extract compared: its latest extraction time and its size (the next run's probe)
    select
        max(_extracted_at) as extracted_at,
        cast(count(*) as {{ dbt.type_bigint() }}) as extract_rows
    from {{ extract_relation }}

),

source__{{ name }} as (

    select
        cast({{ t.key_expr | default(t.key_column) }} as {{ dbt.type_string() }}) as entity_key,
        {%- for col in columns %}
        cast({{ syncgov.try_cast(col.name, col.data_type) }} as {{ dbt.type_string() }}) as {{ col.name }},
        {%- endfor %}
        true as is_present
    from {{ extract_relation }}

),

warehouse__{{ name }} as (

    select
        cast({{ t.key }} as {{ dbt.type_string() }}) as entity_key,
        {%- for col in columns %}
        cast({{ col.name }} as {{ dbt.type_string() }}) as {{ col.name }},
        {%- endfor %}
        true as is_present
    from {{ state_relation }}
    where not _is_deleted

),

differing__{{ name }} as (

    select
        coalesce(source_row.entity_key, warehouse_row.entity_key) as entity_key,
        case
            when warehouse_row.is_present is null then 'missing_in_warehouse'
            when source_row.is_present is null then 'missing_in_source'
            else 'value_mismatch'
        end as drift_type,
        {%- for col in columns %}
        source_row.{{ col.name }} as source__{{ col.name }},
        warehouse_row.{{ col.name }} as warehouse__{{ col.name }},
        {%- endfor %}
        extract_probe__{{ name }}.extracted_at,
        extract_probe__{{ name }}.extract_rows
    from source__{{ name }} as source_row
    full outer join warehouse__{{ name }} as warehouse_row
        on source_row.entity_key = warehouse_row.entity_key
    cross join extract_probe__{{ name }}
    where
        source_row.is_present is null
        or warehouse_row.is_present is null
        {%- for col in columns %}
        or source_row.{{ col.name }} is distinct from warehouse_row.{{ col.name }}
        {%- endfor %}

),

field_names__{{ name }} as (

    -- one row for a missing key (field is null), one per column for a mismatch
    select cast(null as {{ dbt.type_string() }}) as field
    {%- for col in columns %}
    union all
    select '{{ col.name }}' as field
    {%- endfor %}

),

fields__{{ name }} as (

    select
        '{{ name }}' as landing_table,
        '{{ t.domain }}' as domain,
        differing.entity_key,
        differing.drift_type,
        field_names.field,
        case field_names.field
            {%- for col in columns %}
            when '{{ col.name }}' then differing.source__{{ col.name }}
            {%- endfor %}
        end as source_value,
        case field_names.field
            {%- for col in columns %}
            when '{{ col.name }}' then differing.warehouse__{{ col.name }}
            {%- endfor %}
        end as warehouse_value,
        differing.extracted_at,
        differing.extract_rows
    from differing__{{ name }} as differing
    cross join field_names__{{ name }} as field_names

),

drifted__{{ name }} as (

    select *
    from fields__{{ name }}
    where
        (drift_type != 'value_mismatch' and field is null)
        or (
            drift_type = 'value_mismatch' and field is not null
            and coalesce(source_value, '') != coalesce(warehouse_value, '')
        )

),

counted__{{ name }} as (

    -- what sync_drift_summary shows, counted while the extract's drift is at hand
    select
        cast(
            count(distinct case when drift_type = 'missing_in_warehouse' then entity_key end)
            as {{ dbt.type_bigint() }}
        ) as missing_in_warehouse,
        cast(
            count(distinct case when drift_type = 'missing_in_source' then entity_key end)
            as {{ dbt.type_bigint() }}
        ) as missing_in_source,
        cast(
            count(distinct case when drift_type = 'value_mismatch' then entity_key end)
            as {{ dbt.type_bigint() }}
        ) as mismatched_keys,
        cast(count(case when drift_type = 'value_mismatch' then 1 end) as {{ dbt.type_bigint() }})
            as mismatched_fields
    from drifted__{{ name }}

)
{%- endfor %}

{%- for t in tables %}
{%- set name = t.system ~ '__' ~ t.entity %}
{%- if not loop.first %}
union all
{%- endif %}
select
    landing_table,
    domain,
    entity_key,
    drift_type,
    field,
    source_value,
    warehouse_value,
    extracted_at,
    extract_rows,
    cast(null as {{ dbt.type_bigint() }}) as missing_in_warehouse,
    cast(null as {{ dbt.type_bigint() }}) as missing_in_source,
    cast(null as {{ dbt.type_bigint() }}) as mismatched_keys,
    cast(null as {{ dbt.type_bigint() }}) as mismatched_fields,
    {{ syncgov.sync_now() }} as compared_at
from drifted__{{ name }}
union all
-- the marker: this extract was compared (drift or none), with its counts
select
    '{{ name }}' as landing_table,
    '{{ t.domain }}' as domain,
    cast(null as {{ dbt.type_string() }}) as entity_key,
    'compared' as drift_type,
    cast(null as {{ dbt.type_string() }}) as field,
    cast(null as {{ dbt.type_string() }}) as source_value,
    cast(null as {{ dbt.type_string() }}) as warehouse_value,
    extract_probe__{{ name }}.extracted_at,
    extract_probe__{{ name }}.extract_rows,
    counted__{{ name }}.missing_in_warehouse,
    counted__{{ name }}.missing_in_source,
    counted__{{ name }}.mismatched_keys,
    counted__{{ name }}.mismatched_fields,
    {{ syncgov.sync_now() }} as compared_at
from extract_probe__{{ name }}
cross join counted__{{ name }}
{%- endfor %}
{%- if not tables %}
-- no extract is new since it was last compared: nothing to replace
select
    cast(null as {{ dbt.type_string() }}) as landing_table,
    cast(null as {{ dbt.type_string() }}) as domain,
    cast(null as {{ dbt.type_string() }}) as entity_key,
    cast(null as {{ dbt.type_string() }}) as drift_type,
    cast(null as {{ dbt.type_string() }}) as field,
    cast(null as {{ dbt.type_string() }}) as source_value,
    cast(null as {{ dbt.type_string() }}) as warehouse_value,
    cast(null as {{ dbt.type_timestamp() }}) as extracted_at,
    cast(null as {{ dbt.type_bigint() }}) as extract_rows,
    cast(null as {{ dbt.type_bigint() }}) as missing_in_warehouse,
    cast(null as {{ dbt.type_bigint() }}) as missing_in_source,
    cast(null as {{ dbt.type_bigint() }}) as mismatched_keys,
    cast(null as {{ dbt.type_bigint() }}) as mismatched_fields,
    {{ syncgov.sync_now() }} as compared_at
where 1 = 0
{%- endif %}
