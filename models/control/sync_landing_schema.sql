{#-
    The accepted schema of every landing table: each (column, type) the table has shown, when
    it was first and last seen. A column's accepted type is the first one recorded; a later
    other type is a retyped column (sync_schema_drift). Read from the adapter when the model
    runs, so it tracks the landing tables as the loaders leave them.
-#}
{#- delete+insert on one surrogate key: the same on both engines (the emulated Snowflake's
    merge cannot bind a column named column_name) -#}
{{ config(materialized='incremental', incremental_strategy='delete+insert',
    unique_key='schema_column_id') }}

{#- after staging: an adapted landing table is a view the project builds first -#}
{%- for t in sync_landing_tables() %}
-- depends_on: {{ ref('stg_' ~ t.system ~ '__' ~ t.entity) }}
{%- endfor %}
{%- set rows = [] -%}
{%- if execute -%}
{%- for t in sync_landing_tables() -%}
{%- for col in adapter.get_columns_in_relation(source(t.system, t.entity)) -%}
{%- do rows.append({'landing_table': t.system ~ '__' ~ t.entity, 'column_name': col.name | lower,
    'data_type': col.data_type | lower, 'is_text': col.is_string()}) -%}
{%- endfor -%}
{%- endfor -%}
{%- endif %}

with observed as (
    {%- for r in rows %}
    select
        '{{ r.landing_table }}' as landing_table,
        '{{ r.column_name }}' as column_name,
        '{{ r.data_type }}' as data_type,
        {{ 'true' if r.is_text else 'false' }} as is_text
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- if not rows %}
    select
        cast(null as {{ dbt.type_string() }}) as landing_table,
        cast(null as {{ dbt.type_string() }}) as column_name,
        cast(null as {{ dbt.type_string() }}) as data_type,
        false as is_text
    where 1 = 0
    {%- endif %}
)

select
    observed.landing_table || ':' || observed.column_name || ':' || observed.data_type
        as schema_column_id,
    observed.landing_table,
    observed.column_name,
    observed.data_type,
    observed.is_text,
    {%- if is_incremental() %}
    coalesce(accepted.first_seen_at, {{ syncgov.sync_now() }}) as first_seen_at,
    {%- else %}
    {{ syncgov.sync_now() }} as first_seen_at,
    {%- endif %}
    {{ syncgov.sync_now() }} as last_seen_at
from observed
{%- if is_incremental() %}
left join {{ this }} as accepted
    on
        observed.landing_table = accepted.landing_table
        and observed.column_name = accepted.column_name
        and observed.data_type = accepted.data_type
{%- endif %}
