{#-
    Drift between each source's full extract and the warehouse state, per key: a key the
    source has but the warehouse lacks (or holds as a tombstone), a live key the source no
    longer has, and, per field, values that differ. One full outer join per extract compares
    the rows column by column (null-safe) and keeps only keys that differ, carrying both sides'
    values, so the field-level diff reads those few rows and never joins the extract again.
    The compared columns and their types come from the state relation, so a column added to a
    model is compared without a change here.
-#}
{%- set metadata = ['_is_deleted', '_event_id', '_source_system', '_source_event_at', '_loaded_at',
    '_sync_batch_id', '_staged_at', '_applied_at', '_dbt_invocation_id'] -%}
{%- set tables = sync_landing_tables() | selectattr('extract', 'undefined') | list -%}

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

{{ 'with' if loop.first else ',' }} source__{{ name }} as (

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
        (
            select max(extract_row._extracted_at) from {{ extract_relation }} as extract_row
        ) as extracted_at
    from source__{{ name }} as source_row
    full outer join warehouse__{{ name }} as warehouse_row
        on source_row.entity_key = warehouse_row.entity_key
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
        differing.extracted_at
    from differing__{{ name }} as differing
    cross join field_names__{{ name }} as field_names

)
{%- endfor %}

{%- for t in tables %}
{%- set name = t.system ~ '__' ~ t.entity %}
select
    landing_table,
    domain,
    entity_key,
    drift_type,
    field,
    source_value,
    warehouse_value,
    extracted_at
from fields__{{ name }}
where
    (drift_type != 'value_mismatch' and field is null)
    or (
        drift_type = 'value_mismatch' and field is not null
        and coalesce(source_value, '') != coalesce(warehouse_value, '')
    )
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
