{#-
    Debezium change events as landing-contract rows (docs/loaders.md#debezium).

    `relation` is a topic as a Kafka sink landed it, one row per Kafka record:
    - shape='kafka_connect': a JSON column with the record value (`value_column`) next to the
      record's topic, partition, offset and a load timestamp (`topic_column`, `partition_column`,
      `offset_column`, `loaded_at_column`; the defaults are the names Kafka Connect's InsertField
      transform is usually given);
    - shape='snowflake_kafka': the Snowflake Kafka connector's RECORD_METADATA (topic, partition,
      offset, CreateTime, SnowflakeConnectorPushTime) and RECORD_CONTENT (the value).
    `schemas_enable`: the JsonConverter wrote `{"schema": …, "payload": <envelope>}`.
    `event_id`: 'kafka_offset' (topic/partition/offset: a sink retry redelivers the same record)
    or 'source_position' (table, log position and key: also recognises the same change emitted
    again after a connector restart).
-#}
{% macro debezium_events(relation, source_system, key, columns, shape='kafka_connect', schemas_enable=false,
                         event_id='kafka_offset', value_column='record_value', topic_column='kafka_topic',
                         partition_column='kafka_partition', offset_column='kafka_offset',
                         loaded_at_column='kafka_timestamp') %}
{%- set keys = syncgov.loader_identifiers('debezium_events', 'key', key) -%}
{%- set payload = syncgov.loader_identifiers('debezium_events', 'columns', columns) -%}
{%- do syncgov.loader_choice('debezium_events', 'shape', shape, ['kafka_connect', 'snowflake_kafka']) -%}
{%- do syncgov.loader_choice('debezium_events', 'event_id', event_id, ['kafka_offset', 'source_position']) -%}
{%- for k in keys if k not in payload -%}
    {{ exceptions.raise_compiler_error("debezium_events: key column " ~ k ~ " must also be listed in columns") }}
{%- endfor -%}
{%- if shape == 'snowflake_kafka' -%}
    {%- set value = 'record_content' -%}
    {%- set topic = syncgov.loader_json_text('record_metadata', 'topic') -%}
    {%- set partition = syncgov.loader_json_text('record_metadata', 'partition') -%}
    {%- set offset = syncgov.loader_json_text('record_metadata', 'offset') -%}
    {%- set loaded_at = syncgov.loader_epoch_us('1000 * cast(coalesce(' ~ syncgov.loader_json_text('record_metadata', 'SnowflakeConnectorPushTime') ~ ', ' ~ syncgov.loader_json_text('record_metadata', 'CreateTime') ~ ') as ' ~ dbt.type_bigint() ~ ')') -%}
{%- else -%}
    {%- set value = syncgov.loader_identifier('debezium_events', 'value_column', value_column) -%}
    {%- set topic = syncgov.loader_identifier('debezium_events', 'topic_column', topic_column) -%}
    {%- set partition = syncgov.loader_identifier('debezium_events', 'partition_column', partition_column) -%}
    {%- set offset = syncgov.loader_identifier('debezium_events', 'offset_column', offset_column) -%}
    {%- set loaded_at = syncgov.loader_utc(syncgov.loader_identifier('debezium_events', 'loaded_at_column', loaded_at_column)) -%}
{%- endif -%}
{%- set envelope = 'payload.' if schemas_enable else '' %}

with records as (

    select
        cast({{ topic }} as {{ dbt.type_string() }}) as kafka_topic,
        cast({{ partition }} as {{ dbt.type_string() }}) as kafka_partition,
        cast({{ offset }} as {{ dbt.type_string() }}) as kafka_offset,
        {{ loaded_at }} as loaded_at,
        {{ syncgov.loader_json_text(value, envelope ~ 'op') }} as dbz_op,
        coalesce(
            {{ syncgov.loader_json_text(value, envelope ~ 'source.ts_us') }},
            cast(1000 * cast({{ syncgov.loader_json_text(value, envelope ~ 'source.ts_ms') }} as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }})
        ) as dbz_ts_us,
        {{ syncgov.loader_json_text(value, envelope ~ 'transaction.id') }} as dbz_transaction_id,
        {{ syncgov.loader_json_text(value, envelope ~ 'source.txId') }} as dbz_tx_id,
        {{ syncgov.loader_json_text(value, envelope ~ 'source.lsn') }} as dbz_lsn,
        {{ syncgov.loader_json_text(value, envelope ~ 'source.schema') }} as dbz_schema,
        {{ syncgov.loader_json_text(value, envelope ~ 'source.table') }} as dbz_table,
        {%- for col in payload %}
        -- a delete carries its row (at least the key) in `before`, every other change in `after`
        case
            when {{ syncgov.loader_json_text(value, envelope ~ 'op') }} = 'd'
                then {{ syncgov.loader_json_text(value, envelope ~ 'before.' ~ col) }}
            else {{ syncgov.loader_json_text(value, envelope ~ 'after.' ~ col) }}
        end as {{ col }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
    -- a Kafka tombstone (null value, sent after a delete for log compaction) carries no change
    where {{ value }} is not null and {{ syncgov.loader_json_text(value, envelope ~ 'op') }} is not null

),

final as (

    select
        {%- for col in payload %}
        {{ col }},
        {%- endfor %}
        {%- if event_id == 'kafka_offset' %}
        kafka_topic || '/' || kafka_partition || '/' || {{ syncgov.loader_padded('kafka_offset') }} as _event_id,
        {%- else %}
        coalesce(dbz_schema || '.', '') || dbz_table || '@' || {{ syncgov.loader_padded('dbz_lsn') }}
            || '#' || dbz_op || '#' || {{ syncgov.loader_key_text(keys) }} as _event_id,
        {%- endif %}
        '{{ source_system }}' as _source_system,
        -- truncate ('t') and message ('m') events name no row: they stay visible as `invalid_op`
        case
            when dbz_op = 'd' then 'delete'
            when dbz_op in ('c', 'u', 'r') then 'upsert'
            else dbz_op
        end as _op,
        {{ syncgov.loader_iso(syncgov.loader_epoch_us('dbz_ts_us')) }} as _source_event_at,
        loaded_at as _loaded_at,
        -- the source transaction is the batch: Debezium's transaction id when transaction
        -- metadata is on, else the source's own transaction id
        coalesce(dbz_transaction_id, 'txId:' || dbz_tx_id) as _sync_batch_id
    from records

)

select * from final
{% endmacro %}


{#-
    The ledger of a Debezium table: one row per source transaction that touched it.
    With `transactions` (the `<topic.prefix>.transaction` topic, landed in the same shape), a
    transaction's END record says how many events it emitted for `data_collection`
    (`schema.table`): that is `rows_sent`, and a transaction that began but has not ended is
    `partial`. Without it, or for batches it does not cover, `rows_sent` is null
    (`unverifiable`). Debezium sends no checksum.
-#}
{% macro debezium_ledger(relation, source_system, landing_table, key, columns, data_collection=none,
                         transactions=none, shape='kafka_connect', schemas_enable=false, event_id='kafka_offset',
                         value_column='record_value', topic_column='kafka_topic',
                         partition_column='kafka_partition', offset_column='kafka_offset',
                         loaded_at_column='kafka_timestamp') %}
{%- if transactions is not none and (data_collection is none or not modules.re.fullmatch('[A-Za-z0-9_.]+', data_collection)) -%}
    {{ exceptions.raise_compiler_error("debezium_ledger: with transactions, data_collection must be the table's schema.table as Debezium names it, got " ~ (data_collection | string)) }}
{%- endif -%}
{%- set events = syncgov.debezium_events(relation, source_system, key, columns, shape=shape, schemas_enable=schemas_enable,
        event_id=event_id, value_column=value_column, topic_column=topic_column, partition_column=partition_column,
        offset_column=offset_column, loaded_at_column=loaded_at_column) -%}
{%- set envelope = 'payload.' if schemas_enable else '' -%}
{%- if shape == 'snowflake_kafka' -%}
    {%- set value = 'record_content' -%}
    {%- set loaded_at = syncgov.loader_epoch_us('1000 * cast(coalesce(' ~ syncgov.loader_json_text('record_metadata', 'SnowflakeConnectorPushTime') ~ ', ' ~ syncgov.loader_json_text('record_metadata', 'CreateTime') ~ ') as ' ~ dbt.type_bigint() ~ ')') -%}
{%- else -%}
    {%- set value = value_column -%}
    {%- set loaded_at = syncgov.loader_utc(loaded_at_column) -%}
{%- endif %}

with landed as (

    {{ syncgov.loader_landed_batches(events, source_system, landing_table) | indent(4) }}

)
{%- if transactions is none %}

select * from landed
{%- else %},

boundaries as (

    select
        {{ syncgov.loader_json_text(value, envelope ~ 'id') }} as transaction_id,
        {{ syncgov.loader_json_text(value, envelope ~ 'status') }} as transaction_status,
        {{ loaded_at }} as loaded_at,
        {{ value }} as boundary
    from {{ transactions }}
    where {{ value }} is not null

),

ended as (

    {{ syncgov.debezium_collection_event_counts('boundaries', envelope, data_collection) | indent(4) }}

),

announced as (

    select
        began.transaction_id as batch_id,
        '{{ source_system }}' as source_system,
        '{{ landing_table }}' as landing_table,
        cast(null as {{ dbt.type_bigint() }}) as sequence_number,
        min(began.loaded_at) as started_at,
        max(ended.loaded_at) as finished_at,
        case when max(ended.transaction_id) is null then 'partial' else 'success' end as status,
        max(ended.event_count) as rows_sent,
        cast(null as {{ dbt.type_bigint() }}) as event_id_checksum
    from boundaries as began
    left join ended
        on began.transaction_id = ended.transaction_id
    where
        began.transaction_status = 'BEGIN'
        -- a transaction that ended without touching this table is not one of its batches
        and (
            ended.transaction_id is not null
            or began.transaction_id in (select landed.batch_id from landed)
        )
    group by began.transaction_id

),

final as (

    select * from announced
    union all
    select landed.*
    from landed
    where landed.batch_id not in (select announced.batch_id from announced)

)

select * from final
{%- endif %}
{% endmacro %}


{#- Per transaction END record: the events it emitted for `data_collection`. -#}
{% macro debezium_collection_event_counts(boundaries, envelope, data_collection) -%}
    {{ return(adapter.dispatch('debezium_collection_event_counts', 'syncgov')(boundaries, envelope, data_collection)) }}
{%- endmacro %}

{% macro default__debezium_collection_event_counts(boundaries, envelope, data_collection) -%}
    select
        b.transaction_id,
        b.loaded_at,
        cast(get_path(collection.value, 'event_count') as {{ dbt.type_bigint() }}) as event_count
    from {{ boundaries }} as b,
        lateral flatten(input => get_path(b.boundary, '{{ envelope }}data_collections')) as collection
    where
        b.transaction_status = 'END'
        and cast(get_path(collection.value, 'data_collection') as {{ dbt.type_string() }}) = '{{ data_collection }}'
{%- endmacro %}

{% macro duckdb__debezium_collection_event_counts(boundaries, envelope, data_collection) -%}
    select
        transaction_id,
        loaded_at,
        cast(json_extract_string(collection, '$.event_count') as {{ dbt.type_bigint() }}) as event_count
    from (
        select
            b.transaction_id,
            b.loaded_at,
            unnest(cast(json_extract(b.boundary, '$.{{ envelope }}data_collections') as json[])) as collection
        from {{ boundaries }} as b
        where b.transaction_status = 'END'
    ) as collections
    where json_extract_string(collection, '$.data_collection') = '{{ data_collection }}'
{%- endmacro %}
