{#-
    A Fivetran table as landing-contract rows (docs/loaders.md#fivetran).

    mode='history': history mode, one row per version (`_fivetran_start`, `_fivetran_end`,
    `_fivetran_active`): each version is an upsert at `_fivetran_start`, and a key whose latest
    version is inactive was deleted at that version's `_fivetran_end` (a tombstone).
    mode='soft_delete': the default mode, one row per source row, rewritten in place; the row is
    one event at `event_at_column` (a source timestamp, e.g. updated_at) or at `_fivetran_synced`,
    a delete when `_fivetran_deleted`. Intermediate versions are gone.
    Data rows name no sync, so the batch is the hour of `_fivetran_synced`.
-#}
{% macro fivetran_events(relation, source_system, key, columns, mode='soft_delete', event_at_column=none) %}
{%- set keys = syncgov.loader_identifiers('fivetran_events', 'key', key) -%}
{%- set payload = syncgov.loader_identifiers('fivetran_events', 'columns', columns) -%}
{%- do syncgov.loader_choice('fivetran_events', 'mode', mode, ['soft_delete', 'history']) -%}
{%- if event_at_column is not none -%}
    {%- do syncgov.loader_identifier('fivetran_events', 'event_at_column', event_at_column) -%}
    {%- if mode == 'history' -%}
        {{ exceptions.raise_compiler_error("fivetran_events: history mode times versions by _fivetran_start; event_at_column applies to soft_delete mode") }}
    {%- endif -%}
{%- endif -%}
{%- set synced = syncgov.loader_utc('_fivetran_synced') -%}
{%- set batch = "'synced-' || " ~ syncgov.loader_iso(dbt.date_trunc('hour', synced)) %}

with
{%- if mode == 'history' %}
versions as (

    select
        {%- for col in payload %}
        cast({{ col }} as {{ dbt.type_string() }}) as {{ col }},
        {%- endfor %}
        {{ syncgov.loader_iso(syncgov.loader_utc('_fivetran_start')) }} as version_start,
        {{ syncgov.loader_iso(syncgov.loader_utc('_fivetran_end')) }} as version_end,
        _fivetran_active as is_active,
        {{ synced }} as synced_at,
        {{ batch }} as sync_batch,
        row_number() over (
            partition by {{ keys | join(', ') }}
            order by _fivetran_start desc
        ) = 1 as is_latest
    from {{ relation }}

),

final as (

    select
        {%- for col in payload %}
        {{ col }},
        {%- endfor %}
        {{ syncgov.loader_key_text(keys) }} || '@' || version_start || '#upsert' as _event_id,
        '{{ source_system }}' as _source_system,
        'upsert' as _op,
        version_start as _source_event_at,
        synced_at as _loaded_at,
        sync_batch as _sync_batch_id
    from versions

    union all

    -- the latest version of a deleted row is inactive: the delete happened when it ended
    select
        {%- for col in payload %}
        {{ col }},
        {%- endfor %}
        {{ syncgov.loader_key_text(keys) }} || '@' || version_end || '#delete' as _event_id,
        '{{ source_system }}' as _source_system,
        'delete' as _op,
        version_end as _source_event_at,
        synced_at as _loaded_at,
        sync_batch as _sync_batch_id
    from versions
    where is_latest and not is_active

)
{%- else %}
final as (

    select
        {%- for col in payload %}
        cast({{ col }} as {{ dbt.type_string() }}) as {{ col }},
        {%- endfor %}
        {%- set op = "case when coalesce(_fivetran_deleted, false) then 'delete' else 'upsert' end" %}
        {%- set event_at = syncgov.loader_iso(syncgov.loader_utc(event_at_column)) if event_at_column else syncgov.loader_iso(synced) %}
        {{ syncgov.loader_key_text(keys) }} || '@' || {{ event_at }} || '#' || {{ op }} as _event_id,
        '{{ source_system }}' as _source_system,
        {{ op }} as _op,
        {{ event_at }} as _source_event_at,
        {{ synced }} as _loaded_at,
        {{ batch }} as _sync_batch_id
    from {{ relation }}

)
{%- endif %}

select * from final
{% endmacro %}


{#- The ledger of a Fivetran table: one row per sync hour, with no sender count (`rows_sent`
    null: `unverifiable`). Fivetran's counts live in its Platform Connector's `log` table
    (records_modified per sync), which this ledger does not read yet. -#}
{% macro fivetran_ledger(relation, source_system, landing_table, key, columns, mode='soft_delete', event_at_column=none) %}
{{ syncgov.loader_landed_batches(
    syncgov.fivetran_events(relation, source_system, key, columns, mode=mode, event_at_column=event_at_column),
    source_system, landing_table) }}
{% endmacro %}
