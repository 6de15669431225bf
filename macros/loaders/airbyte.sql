{#-
    An Airbyte stream (destinations v2) as landing-contract rows (docs/loaders.md#airbyte).

    table='raw': the raw table (`airbyte_internal.<namespace>_raw__stream_<stream>`): the record
    in `_airbyte_data` (JSON) next to `_airbyte_raw_id`, `_airbyte_extracted_at`,
    `_airbyte_meta`; every record the syncs extracted, whatever the sync mode.
    table='final': the typed final table of an append sync (a deduped one holds state only).
    cdc=true: the source is a CDC source (`_ab_cdc_updated_at`, `_ab_cdc_deleted_at` and the log
    position `cdc_position_column`, `_ab_cdc_lsn` for PostgreSQL): deletes are tombstones and
    the position identifies the change. Otherwise `cursor` (the stream's cursor field, a
    timestamp) is the change time and identifies the change with the key; with neither, the
    extraction time and `_airbyte_raw_id`, which a re-sync does not keep.
-#}
{% macro airbyte_events(relation, source_system, key, columns, table='raw', cdc=false, cursor=none,
                        cdc_position_column='_ab_cdc_lsn') %}
{%- set keys = syncgov.loader_identifiers('airbyte_events', 'key', key) -%}
{%- set payload = syncgov.loader_identifiers('airbyte_events', 'columns', columns) -%}
{%- do syncgov.loader_choice('airbyte_events', 'table', table, ['raw', 'final']) -%}
{%- if cursor is not none -%}{%- do syncgov.loader_identifier('airbyte_events', 'cursor', cursor) -%}{%- endif -%}
{%- do syncgov.loader_identifier('airbyte_events', 'cdc_position_column', cdc_position_column) -%}
{%- if cdc and cursor is not none -%}
    {{ exceptions.raise_compiler_error("airbyte_events: give cdc=true or a cursor, not both") }}
{%- endif -%}
{#- a field as text, and a timestamp field as the contract's ISO text -#}
{%- set field = {} -%}
{%- set at = {} -%}
{%- for name in payload + [cursor or '_', '_ab_cdc_updated_at', '_ab_cdc_deleted_at', cdc_position_column] -%}
    {%- if table == 'raw' -%}
        {%- do field.update({name: syncgov.loader_json_text('_airbyte_data', name)}) -%}
        {#- the raw record carries timestamps as ISO 8601 text already -#}
        {%- do at.update({name: syncgov.loader_json_text('_airbyte_data', name)}) -%}
    {%- else -%}
        {%- do field.update({name: 'cast(' ~ name ~ ' as ' ~ dbt.type_string() ~ ')'}) -%}
        {%- do at.update({name: syncgov.loader_iso(syncgov.loader_utc(name))}) -%}
    {%- endif -%}
{%- endfor %}

with records as (

    select
        {%- for col in payload %}
        {{ field[col] }} as {{ col }},
        {%- endfor %}
        {%- if cdc %}
        case when {{ field['_ab_cdc_deleted_at'] }} is not null then 'delete' else 'upsert' end as record_op,
        coalesce({{ at['_ab_cdc_deleted_at'] }}, {{ at['_ab_cdc_updated_at'] }}) as record_event_at,
        {{ field[cdc_position_column] }} as record_position,
        {%- elif cursor %}
        'upsert' as record_op,
        {{ at[cursor] }} as record_event_at,
        {%- else %}
        'upsert' as record_op,
        {{ syncgov.loader_iso(syncgov.loader_utc('_airbyte_extracted_at')) }} as record_event_at,
        {%- endif %}
        _airbyte_raw_id as record_raw_id,
        {{ syncgov.loader_utc('_airbyte_extracted_at') }} as record_extracted_at,
        coalesce(
            'sync-' || {{ syncgov.loader_json_text('_airbyte_meta', 'sync_id') }},
            'generation-' || cast(_airbyte_generation_id as {{ dbt.type_string() }})
        ) as record_sync
    from {{ relation }}

),

final as (

    select
        {%- for col in payload %}
        {{ col }},
        {%- endfor %}
        {%- if cdc %}
        {{ syncgov.loader_key_text(keys) }} || '@' || {{ syncgov.loader_padded('record_position') }} || '#' || record_op as _event_id,
        {%- elif cursor %}
        {{ syncgov.loader_key_text(keys) }} || '@' || record_event_at as _event_id,
        {%- else %}
        record_raw_id as _event_id,
        {%- endif %}
        '{{ source_system }}' as _source_system,
        record_op as _op,
        record_event_at as _source_event_at,
        -- the extraction time, which Airbyte never rewrites (`_airbyte_loaded_at` of a raw
        -- record changes when typing and deduping reprocesses it)
        record_extracted_at as _loaded_at,
        record_sync as _sync_batch_id
    from records

)

select * from final
{% endmacro %}


{#- The ledger of an Airbyte stream: one row per sync. Airbyte keeps its record counts in the
    platform, not in the destination, so `rows_sent` is null: every sync is `unverifiable`. -#}
{% macro airbyte_ledger(relation, source_system, landing_table, key, columns, table='raw', cdc=false, cursor=none,
                        cdc_position_column='_ab_cdc_lsn') %}
{{ syncgov.loader_landed_batches(
    syncgov.airbyte_events(relation, source_system, key, columns, table=table, cdc=cdc, cursor=cursor,
                           cdc_position_column=cdc_position_column),
    source_system, landing_table) }}
{% endmacro %}
