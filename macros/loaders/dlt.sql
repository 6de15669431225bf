{#-
    A dlt resource as landing-contract rows (docs/loaders.md#dlt).

    `relation`: the resource's table; `loads`: the dataset's `_dlt_loads`. Only rows of loads
    that dlt recorded as completed (`status = 0`) land: a load still running is not there yet.
    `event_at_column`: the source's change time (a timestamp column, e.g. the incremental cursor);
    without it the load time stands in and a redelivery in a later load is a new event.
    `deleted_column`: a boolean column that marks a delete (not declared `hard_delete` to dlt,
    which would remove the row and leave no tombstone).
-#}
{% macro dlt_events(relation, source_system, key, columns, loads, event_at_column=none, deleted_column=none) %}
{%- set keys = syncgov.loader_identifiers('dlt_events', 'key', key) -%}
{%- set payload = syncgov.loader_identifiers('dlt_events', 'columns', columns) -%}
{%- if event_at_column is not none -%}{%- do syncgov.loader_identifier('dlt_events', 'event_at_column', event_at_column) -%}{%- endif -%}
{%- if deleted_column is not none -%}{%- do syncgov.loader_identifier('dlt_events', 'deleted_column', deleted_column) -%}{%- endif -%}
{%- set event_at = syncgov.loader_iso(syncgov.loader_utc('resource.' ~ event_at_column)) if event_at_column else syncgov.loader_iso(syncgov.loader_utc('completed.inserted_at')) -%}
{%- set op = "case when coalesce(resource." ~ deleted_column ~ ", false) then 'delete' else 'upsert' end" if deleted_column else "'upsert'" %}

with completed as (

    select
        load_id,
        inserted_at
    from {{ loads }}
    where status = 0

),

final as (

    select
        {%- for col in payload %}
        cast(resource.{{ col }} as {{ dbt.type_string() }}) as {{ col }},
        {%- endfor %}
        {%- if event_at_column %}
        -- the same change loaded again (a re-run, an overlapping cursor) keeps its id
        {{ syncgov.loader_key_text(keys, 'resource') }} || '@' || {{ event_at }} || '#' || {{ op }} as _event_id,
        {%- else %}
        resource._dlt_load_id || '/' || {{ syncgov.loader_key_text(keys, 'resource') }} as _event_id,
        {%- endif %}
        '{{ source_system }}' as _source_system,
        {{ op }} as _op,
        {{ event_at }} as _source_event_at,
        {{ syncgov.loader_utc('completed.inserted_at') }} as _loaded_at,
        resource._dlt_load_id as _sync_batch_id
    from {{ relation }} as resource
    inner join completed
        on resource._dlt_load_id = completed.load_id

)

select * from final
{% endmacro %}


{#-
    The ledger of a dlt resource: one row per completed load that touched it, from `_dlt_loads`.
    dlt records no row counts there; `row_counts` is a relation the pipeline writes from its own
    normalize info (load_id, table_name, row_count: `pipeline.last_trace.last_normalize_info`,
    see docs/loaders.md). With it, `rows_sent` is that count for `table_name`; without it, null
    (`unverifiable`). A load the counts name that left no row here is `batch_missing`.
-#}
{% macro dlt_ledger(relation, source_system, landing_table, key, columns, loads, table_name=none, row_counts=none,
                    event_at_column=none, deleted_column=none) %}
{%- if row_counts is not none and (table_name is none or not modules.re.fullmatch('[A-Za-z0-9_]+', table_name)) -%}
    {{ exceptions.raise_compiler_error("dlt_ledger: with row_counts, table_name must be the resource's table name as dlt normalized it, got " ~ (table_name | string)) }}
{%- endif -%}
{%- set events = syncgov.dlt_events(relation, source_system, key, columns, loads, event_at_column=event_at_column, deleted_column=deleted_column) %}

with landed as (

    {{ syncgov.loader_landed_batches(events, source_system, landing_table) | indent(4) }}

)
{%- if row_counts is none %}

select * from landed
{%- else %},

counted as (

    select
        counts.load_id as batch_id,
        '{{ source_system }}' as source_system,
        '{{ landing_table }}' as landing_table,
        cast(null as {{ dbt.type_bigint() }}) as sequence_number,
        min({{ syncgov.loader_epoch_us('cast(counts.load_id as double) * 1000000') }}) as started_at,
        min({{ syncgov.loader_utc('loads.inserted_at') }}) as finished_at,
        'success' as status,
        sum(counts.row_count) as rows_sent,
        cast(null as {{ dbt.type_bigint() }}) as event_id_checksum
    from {{ row_counts }} as counts
    inner join {{ loads }} as loads
        on counts.load_id = loads.load_id and loads.status = 0
    where counts.table_name = '{{ table_name }}'
    group by counts.load_id

),

final as (

    select * from counted
    union all
    select landed.*
    from landed
    where landed.batch_id not in (select counted.batch_id from counted)

)

select * from final
{%- endif %}
{% endmacro %}
