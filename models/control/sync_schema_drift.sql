{#-
    Landing schema drift: each landing table's columns against what the registry declares (the
    catalogue's `columns` and the six sync metadata columns; the landing contract lands them as
    text, but `_loaded_at` as a timestamp) and against the accepted schema (sync_landing_schema).

    change
      removed  a declared column the table lacks: its staging stages nothing until the column
               is back (the batches stay pending, no event is lost); the flow is failed
      retyped  a declared column landed as another type than text, or as another type than
               first accepted: staging reads it as text; the flow is partial
      added    a column the registry does not declare: ignored by staging and by the payload
               hash; a reason in the flow's health, no change of status
-#}
{%- set metadata = ['_event_id', '_source_system', '_op', '_source_event_at', '_loaded_at', '_sync_batch_id'] -%}

with declared as (
    {%- for t in sync_landing_tables() %}
    {%- set table_loop = loop %}
    {%- for name in (t.columns | default([])) + metadata %}
    select
        '{{ t.system }}__{{ t.entity }}' as landing_table,
        '{{ t.domain }}' as domain,
        '{{ name | lower }}' as column_name
    {%- if not (table_loop.last and loop.last) %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- endfor %}
),

schema_history as (

    select * from {{ ref('sync_landing_schema') }}

),

current_columns as (

    -- what the latest run of sync_landing_schema saw
    select *
    from schema_history
    where last_seen_at = (select max(h.last_seen_at) from schema_history as h)

),

accepted as (

    -- a column's accepted type: the first it was seen with
    select
        landing_table,
        column_name,
        data_type as accepted_type
    from schema_history
    qualify row_number() over (
        partition by landing_table, column_name
        order by first_seen_at asc, data_type asc
    ) = 1

),

domains as (

    select distinct
        landing_table,
        domain
    from declared

),

changes as (

    select
        declared.landing_table,
        declared.domain,
        declared.column_name,
        'removed' as change,
        accepted.accepted_type,
        cast(null as {{ dbt.type_string() }}) as found_type
    from declared
    left join current_columns
        on
            declared.landing_table = current_columns.landing_table
            and declared.column_name = current_columns.column_name
    left join accepted
        on
            declared.landing_table = accepted.landing_table
            and declared.column_name = accepted.column_name
    where current_columns.column_name is null

    union all

    select
        declared.landing_table,
        declared.domain,
        declared.column_name,
        'retyped' as change,
        accepted.accepted_type,
        current_columns.data_type as found_type
    from declared
    inner join current_columns
        on
            declared.landing_table = current_columns.landing_table
            and declared.column_name = current_columns.column_name
    left join accepted
        on
            declared.landing_table = accepted.landing_table
            and declared.column_name = accepted.column_name
    where
        -- every landed column is text but the load time, a timestamp (docs/architecture.md §2)
        (not current_columns.is_text and declared.column_name <> '_loaded_at')
        or current_columns.data_type <> accepted.accepted_type

    union all

    select
        current_columns.landing_table,
        domains.domain,
        current_columns.column_name,
        'added' as change,
        accepted.accepted_type,
        current_columns.data_type as found_type
    from current_columns
    inner join domains on current_columns.landing_table = domains.landing_table
    left join declared
        on
            current_columns.landing_table = declared.landing_table
            and current_columns.column_name = declared.column_name
    left join accepted
        on
            current_columns.landing_table = accepted.landing_table
            and current_columns.column_name = accepted.column_name
    where declared.column_name is null

)

select
    landing_table || ':' || column_name || ':' || change as drift_id,
    landing_table,
    domain,
    column_name,
    change,
    accepted_type,
    found_type,
    {{ syncgov.sync_now() }} as detected_at
from changes
