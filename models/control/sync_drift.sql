{#-
    Drift between each source's full extract and the warehouse state, per key: a key the
    source has but the warehouse lacks (or holds as a tombstone), a live key the source no
    longer has, and, per field, values that differ. Rows are compared by hash first; only
    keys whose hashes differ are diffed field by field. The compared columns and their types
    come from the state relation, so a column added to a model is compared without a change here.
-#}
{%- set metadata = ['_is_deleted', '_event_id', '_source_system', '_source_event_at', '_loaded_at',
    '_sync_batch_id', '_staged_at', '_applied_at', '_dbt_invocation_id'] -%}
{%- set tables = var('sync_landing_tables') | selectattr('extract', 'undefined') | list -%}

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
        _extracted_at
    from {{ extract_relation }}

),

warehouse__{{ name }} as (

    select
        cast({{ t.key }} as {{ dbt.type_string() }}) as entity_key,
        {%- for col in columns %}
        cast({{ col.name }} as {{ dbt.type_string() }}) as {{ col.name }},
        {%- endfor %}
        true as is_live
    from {{ state_relation }}
    where not _is_deleted

),

compared__{{ name }} as (

    select
        coalesce(source_row.entity_key, warehouse_row.entity_key) as entity_key,
        source_row.entity_key is not null as in_source,
        warehouse_row.entity_key is not null as in_warehouse,
        {{ syncgov.row_fingerprint(columns, 'source_row') }} as source_hash,
        {{ syncgov.row_fingerprint(columns, 'warehouse_row') }} as warehouse_hash,
        max(source_row._extracted_at) over () as extracted_at
    from source__{{ name }} as source_row
    full outer join warehouse__{{ name }} as warehouse_row
        on source_row.entity_key = warehouse_row.entity_key

),

keys__{{ name }} as (

    select
        '{{ name }}' as landing_table,
        '{{ t.domain }}' as domain,
        entity_key,
        case
            when not in_warehouse then 'missing_in_warehouse'
            when not in_source then 'missing_in_source'
            else 'value_mismatch'
        end as drift_type,
        cast(null as {{ dbt.type_string() }}) as field,
        cast(null as {{ dbt.type_string() }}) as source_value,
        cast(null as {{ dbt.type_string() }}) as warehouse_value,
        extracted_at
    from compared__{{ name }}
    where not in_warehouse or not in_source or source_hash != warehouse_hash

),

fields__{{ name }} as (
    {%- for col in columns %}

    select
        keys.landing_table,
        keys.domain,
        keys.entity_key,
        'value_mismatch' as drift_type,
        '{{ col.name }}' as field,
        source_row.{{ col.name }} as source_value,
        warehouse_row.{{ col.name }} as warehouse_value,
        keys.extracted_at
    from keys__{{ name }} as keys
    inner join source__{{ name }} as source_row on keys.entity_key = source_row.entity_key
    inner join warehouse__{{ name }} as warehouse_row on keys.entity_key = warehouse_row.entity_key
    where
        keys.drift_type = 'value_mismatch'
        and coalesce(source_row.{{ col.name }}, '') != coalesce(warehouse_row.{{ col.name }}, '')
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

)
{%- endfor %}

{%- for t in tables %}
{%- set name = t.system ~ '__' ~ t.entity %}
select * from keys__{{ name }}
where drift_type != 'value_mismatch'
union all
select * from fields__{{ name }}
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
