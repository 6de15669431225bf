{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='landed_batch_id',
) }}

{#-
    Per landing table and landed batch: rows landed, distinct event ids and the checksum of
    those ids, the landed side of `sync_reconciliation`.

    Counted from the landing table itself, never from staging's progress, so the
    reconciliation's count of landed rows stays an independent side of the accounting identity.
    An incremental run counts the rows of every batch (one grouped count) and recomputes ids
    and checksum only for batches whose count differs from the one held here: new batches,
    grown ones, and batches committed late whatever their `_loaded_at`. Landing tables are
    append-only (the landing contract); a row rewritten in place needs `--full-refresh`.
-#}

{%- for t in sync_landing_tables() %}
{%- set name = t.system ~ '__' ~ t.entity %}

{{ 'with' if loop.first else ',' }} counted__{{ name }} as (

    select
        '{{ name }}' || ':' || coalesce(_sync_batch_id, '∅') as landed_batch_id,
        _sync_batch_id as batch_id,
        count(*) as rows_landed
    from {{ source(t.system, t.entity) }}
    group by _sync_batch_id

),

changed__{{ name }} as (

    select counted.*
    from counted__{{ name }} as counted
    {%- if is_incremental() %}
    left join {{ this }} as held
        on counted.landed_batch_id = held.landed_batch_id
    where held.landed_batch_id is null or held.rows_landed <> counted.rows_landed
    {%- endif %}

),

events__{{ name }} as (

    -- each event id once per batch, as the sender's checksum counts it
    select
        _sync_batch_id as batch_id,
        _event_id
    from {{ source(t.system, t.entity) }}
    where
        _event_id is not null
        -- only the changed batches (on a full refresh: all of them)
        and '{{ name }}' || ':' || coalesce(_sync_batch_id, '∅')
        in (select changed.landed_batch_id from changed__{{ name }} as changed)
    group by _sync_batch_id, _event_id

),

summed__{{ name }} as (

    select
        batch_id,
        count(*) as distinct_events,
        sum({{ syncgov.event_id_checksum_term('_event_id') }}) as landed_checksum
    from events__{{ name }}
    group by batch_id

),

batches__{{ name }} as (

    select
        changed.landed_batch_id,
        '{{ name }}' as landing_table,
        '{{ t.system }}' as source_system,
        changed.batch_id,
        changed.rows_landed,
        coalesce(summed.distinct_events, 0) as distinct_events,
        coalesce(summed.landed_checksum, 0) as landed_checksum
    from changed__{{ name }} as changed
    left join summed__{{ name }} as summed
        on coalesce(changed.batch_id, '∅') = coalesce(summed.batch_id, '∅')

)
{%- endfor %}

select
    batches.*,
    {{ syncgov.sync_now() }} as counted_at
from (
    {%- for t in sync_landing_tables() %}
    select * from batches__{{ t.system }}__{{ t.entity }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
) as batches
