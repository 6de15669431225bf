{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='progress_id',
) }}

{#-
    Per landing table and batch: rows landed, and how many of them reached staging: the row is
    the staged delivery of its event, or a later one (a duplicate). Staging reads the batches where the two differ (see `stage_events`), so
    a batch committed late, re-sent or grown is staged whatever its `_loaded_at`.

    Built after the staging models, so a row that lands while staging runs is not counted as
    staged and its batch is read again next time. Only batches whose landed count changed, or
    that were not fully staged, are checked again; the others keep their row.
-#}

{%- for t in sync_landing_tables() %}
{%- set name = t.system ~ '__' ~ t.entity %}

{{ 'with' if loop.first else ',' }} counted__{{ name }} as (

    select
        '{{ name }}' as landing_table,
        coalesce(_sync_batch_id, '∅') as batch_key,
        count(*) as rows_landed,
        min(_loaded_at) as first_loaded_at,
        max(_loaded_at) as _loaded_at
    from {{ source(t.system, t.entity) }}
    group by coalesce(_sync_batch_id, '∅')

),

checked__{{ name }} as (

    {%- if is_incremental() %}
    select counted.*
    from counted__{{ name }} as counted
    left join {{ this }} as seen
        on
            counted.landing_table = seen.landing_table
            and counted.batch_key = seen.batch_key
    where
        seen.batch_key is null
        or seen.rows_landed <> counted.rows_landed
        or seen.rows_staged <> seen.rows_landed
    {%- else %}
    select *
    from counted__{{ name }}
    {%- endif %}

),

candidate_rows__{{ name }} as (

    -- a lower bound on the load time the scan can prune on (see stage_events)
    select *
    from {{ source(t.system, t.entity) }}
    where _loaded_at >= (select min(checked__{{ name }}.first_loaded_at) from checked__{{ name }})
    union all
    select *
    from {{ source(t.system, t.entity) }}
    where _loaded_at is null

),

landed__{{ name }} as (

    select
        coalesce(_sync_batch_id, '∅') as batch_key,
        {{ syncgov.sync_event_key(t.key_column) }} as event_key,
        _loaded_at,
        _sync_batch_id,
        {{ syncgov.payload_hash(source(t.system, t.entity)) }} as _payload_hash
    from candidate_rows__{{ name }}
    where coalesce(_sync_batch_id, '∅') in (select checked__{{ name }}.batch_key from checked__{{ name }})

),

reached__{{ name }} as (

    select
        landed.batch_key,
        count(*) as rows_staged
    from landed__{{ name }} as landed
    inner join {{ ref('stg_' ~ name) }} as staged
        on
            landed.event_key = staged._event_id
            -- a delivery that precedes the staged one has not reached staging: it must replace it
            and not {{ syncgov.delivery_precedes('landed', 'staged') }}
    group by landed.batch_key

),

progress__{{ name }} as (

    select
        checked.landing_table,
        checked.batch_key,
        checked.rows_landed,
        coalesce(reached.rows_staged, 0) as rows_staged,
        checked._loaded_at
    from checked__{{ name }} as checked
    left join reached__{{ name }} as reached
        on checked.batch_key = reached.batch_key

)
{%- endfor %}

select
    progress.landing_table || ':' || progress.batch_key as progress_id,
    progress.landing_table,
    progress.batch_key,
    progress.rows_landed,
    progress.rows_staged,
    progress._loaded_at,
    {{ syncgov.sync_now() }} as checked_at
from (
    {%- for t in sync_landing_tables() %}
    select * from progress__{{ t.system }}__{{ t.entity }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
) as progress
