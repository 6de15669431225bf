{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['landing_table', '_event_id'],
) }}

{#-
    Every landed row gets exactly one disposition, each from a positive rule:
      duplicate           a later delivery of an event, with the canonical delivery's payload
      duplicate_conflict  a later delivery of an event whose payload differs (both hashes kept)
      quarantined         the canonical delivery, staged, invalid (with the reason)
      applied             the canonical delivery, staged, valid, and the event its key holds now
      superseded          the canonical delivery, staged, valid, and its key holds a newer event
      pending             the canonical delivery, not staged yet, of a batch staging has not
                          finished: landed after its staging model last ran (another cadence's
                          table, a row that landed during the build); staged by its next run
      not_staged          the canonical delivery, not staged, of a batch staging says it has
                          finished: an event lost between landing and staging (an error)
      unaccounted         staged and valid, yet its key holds neither this delivery of it nor
                          a newer event: state lost it, or kept an older delivery of the same
                          event (an error too)
    The canonical delivery is the first by `delivery_order()`, as in staging.

    Incremental runs recompute every delivery of the events whose disposition can have changed
    since the last run (`_disposed_at`), and only those (delete+insert per landing table and
    event): the events of batches whose landed count differs from the rows held here (new
    batches, grown ones, batches committed late of any age: counted from the landing table
    itself, not from staging's progress, so a batch staging overlooks still shows) or whose
    staged count differs from the rows held here as staged (a staged event that vanished),
    events staged since (a pending row staged by another cadence's run), and the applied and
    unaccounted rows of a key that staging or state touched since (a newer event turns
    `applied` into `superseded`; a superseded row stays so, as state only moves forward);
    every event of a table whose untouched state rows differ in number from the applied rows
    of untouched keys (a state row lost without trace). Nothing else can change a row's
    disposition: what a row is depends only on its event's deliveries, its staged row, its
    key's state row and its batch's progress. `--full-refresh` classifies every row afresh and
    gives the same rows (tests/e2e/test_incremental_controls.py).
-#}

{#- staging does not hold this very delivery (nothing, or another delivery of the event) -#}
{%- set not_the_staged_delivery -%}
(
                    staged._event_id is null
                    -- a null landed hash: a declared column is missing (schema drift), so the
                    -- payload cannot be compared; load time and batch still identify it
                    or coalesce(staged._payload_hash <> landed.payload_hash, false)
                    or staged._loaded_at is distinct from landed._loaded_at
                    or staged._sync_batch_id is distinct from landed._sync_batch_id
                )
{%- endset -%}

{#- a replay rewrites staging and state since its point: classify every row afresh -#}
{%- set scoped = is_incremental() and not syncgov.replay_from() %}
{%- if scoped %}

with since as (

    -- when the last run that wrote rows here ran: everything staged or applied since is new
    select
        coalesce(
            max(_disposed_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})
        ) as disposed_at
    from {{ this }}

),

held_batches as (

    -- the rows held here per table and batch, in one scan for every table
    select
        landing_table,
        coalesce(_sync_batch_id, '∅') as batch_key,
        count(*) as rows_held,
        sum(
            case
                when disposition in ('applied', 'superseded', 'quarantined', 'unaccounted') then 1
                else 0
            end
        ) as rows_staged,
        sum(case when disposition = 'applied' then 1 else 0 end) as rows_applied
    from {{ this }}
    group by landing_table, coalesce(_sync_batch_id, '∅')

)
{%- for t in sync_landing_tables() %}
{%- set name = t.system ~ '__' ~ t.entity %},

staged_batches__{{ name }} as (

    -- staged rows per batch: a staged event that vanishes leaves no newer `_staged_at`, only
    -- a count below the rows held here as staged
    select
        coalesce(_sync_batch_id, '∅') as batch_key,
        count(*) as rows_staged
    from {{ ref('stg_' ~ name) }}
    group by coalesce(_sync_batch_id, '∅')

),

touched_keys__{{ name }} as (

    select held.{{ t.key }} as entity_key
    from {{ ref(t.state) }} as held
    where held._applied_at >= (select since.disposed_at from since)
    union
    select staged.{{ t.key }} as entity_key
    from {{ ref('stg_' ~ name) }} as staged
    where staged._staged_at >= (select since.disposed_at from since)

)
{%- endfor %},

held_keys as (

    -- the rows state can reclassify of the touched keys, of every table, in one scan of the
    -- rows held here: the event a touched key's state row held (now perhaps superseded) and
    -- the rare unaccounted one. A join on the few touched keys, not a copy of every applied row.
    select
        disposed.landing_table,
        disposed._event_id,
        disposed.entity_key,
        disposed.disposition
    from {{ this }} as disposed
    inner join (
        {%- for t in sync_landing_tables() %}
        select distinct
            '{{ t.system }}__{{ t.entity }}' as landing_table,
            cast(tk.entity_key as {{ dbt.type_string() }}) as entity_key
        from touched_keys__{{ t.system }}__{{ t.entity }} as tk
        where tk.entity_key is not null
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
    ) as touched
        on
            disposed.landing_table = touched.landing_table
            and disposed.entity_key = touched.entity_key
    where disposed.disposition in ('applied', 'unaccounted')

)
{%- endif %}

{%- for t in sync_landing_tables() %}
{%- set name = t.system ~ '__' ~ t.entity %}

{{ ('with' if not scoped else ',') if loop.first else ',' }} batch_rows__{{ name }} as (

    -- rows landed per batch: the probe an incremental run compares with the rows held here
    select
        coalesce(_sync_batch_id, '∅') as batch_key,
        count(*) as batch_rows_landed
    from {{ source(t.system, t.entity) }}
    group by coalesce(_sync_batch_id, '∅')

),
{%- if scoped %}

state_drift__{{ name }} as (

    -- every state row of a key nothing touched holds the event applied here: when the counts
    -- differ (a state row lost without trace), the whole table is classified afresh
    select 1 as drifted
    from (
        select count(*) as held_rows
        from {{ ref(t.state) }} as held
        where
            held._applied_at < (select since.disposed_at from since)
            and held.{{ t.key }} not in (
                select tk.entity_key from touched_keys__{{ name }} as tk
                where tk.entity_key is not null
            )
    ) as held
    cross join (
        -- the applied rows held here of the untouched keys: all of them, less the touched ones
        -- (an applied row always carries its key)
        select
            (
                select coalesce(sum(batches.rows_applied), 0) from held_batches as batches
                where batches.landing_table = '{{ name }}'
            ) - (
                select count(*) from held_keys as disposed
                where disposed.landing_table = '{{ name }}' and disposed.disposition = 'applied'
            ) as applied_rows
    ) as disposed
    where held.held_rows <> disposed.applied_rows

),

touched_batches__{{ name }} as (

    select landed.batch_key
    from batch_rows__{{ name }} as landed
    left join held_batches as held
        on
            held.landing_table = '{{ name }}'
            and landed.batch_key = held.batch_key
    left join staged_batches__{{ name }} as staged
        on landed.batch_key = staged.batch_key
    where
        held.batch_key is null
        or held.rows_held <> landed.batch_rows_landed
        or held.rows_staged <> coalesce(staged.rows_staged, 0)
        or exists (select 1 from state_drift__{{ name }})

),

touched_events__{{ name }} as (

    select {{ syncgov.sync_event_key(t.key_column) }} as event_key
    from {{ source(t.system, t.entity) }}
    where coalesce(_sync_batch_id, '∅') in (select tb.batch_key from touched_batches__{{ name }} as tb)
    union
    select staged._event_id as event_key
    from {{ ref('stg_' ~ name) }} as staged
    where staged._staged_at >= (select since.disposed_at from since)
    union
    -- of a touched key, only the rows state can reclassify: the event it held (now perhaps
    -- superseded) and one it did not account for. A superseded row stays superseded, since
    -- state only moves to newer events (a replay, which may not, reclassifies everything).
    select disposed._event_id as event_key
    from held_keys as disposed
    where disposed.landing_table = '{{ name }}'

),
{%- endif %}

identified__{{ name }} as (

    select
        _sync_batch_id,
        _loaded_at,
        {{ syncgov.sync_event_key(t.key_column) }} as event_key,
        {{ syncgov.payload_hash(source(t.system, t.entity)) }} as payload_hash
    from {{ source(t.system, t.entity) }}
    {%- if scoped %}
    -- the same test as `sync_event_key(...) in touched_events`, with the key computed only for
    -- the rows that landed without an id (for every other row it is `_event_id`)
    where
        _event_id in (select te.event_key from touched_events__{{ name }} as te)
        or (
            _event_id is null
            and {{ syncgov.sync_event_key(t.key_column) }}
            in (select te.event_key from touched_events__{{ name }} as te)
        )
    {%- endif %}

),

landed__{{ name }} as (

    select
        identified.*,
        batches.batch_key,
        batches.batch_rows_landed,
        row_number() over (
            partition by event_key
            order by {{ syncgov.delivery_order(payload_hash='payload_hash') }}
        ) as delivery,
        first_value(payload_hash) over (
            partition by event_key
            order by {{ syncgov.delivery_order(payload_hash='payload_hash') }}
            rows between unbounded preceding and unbounded following
        ) as canonical_payload_hash
    from identified__{{ name }} as identified
    inner join batch_rows__{{ name }} as batches
        on coalesce(identified._sync_batch_id, '∅') = batches.batch_key

),

staged__{{ name }} as (

    -- the staged rows of the events classified here{{ ' (the touched ones: the join then
    -- builds on the delta, not on the whole staging table)' if scoped }}
    select
        _event_id,
        {{ t.key }},
        _quarantine_reason,
        _payload_hash,
        _loaded_at,
        _sync_batch_id,
        _source_event_at,
        _op
    from {{ ref('stg_' ~ name) }}
    {%- if scoped %}
    where _event_id in (select te.event_key from touched_events__{{ name }} as te)
    {%- endif %}

),

disposed__{{ name }} as (

    select
        '{{ name }}' as landing_table,
        '{{ t.domain }}' as domain,
        '{{ t.system }}' as source_system,
        landed._sync_batch_id,
        landed._loaded_at,
        landed.event_key as _event_id,
        cast(staged.{{ t.key }} as {{ dbt.type_string() }}) as entity_key,
        case
            when landed.delivery > 1 and landed.payload_hash = landed.canonical_payload_hash
                then 'duplicate'
            when landed.delivery > 1 and landed.payload_hash <> landed.canonical_payload_hash
                then 'duplicate_conflict'
            when
                landed.delivery = 1
                and {{ not_the_staged_delivery }}
                and (
                    progress.batch_key is null
                    or progress.rows_staged < progress.rows_landed
                    or landed.batch_rows_landed > progress.rows_landed
                )
                then 'pending'
            when
                landed.delivery = 1
                and {{ not_the_staged_delivery }}
                then 'not_staged'
            when landed.delivery = 1 and staged._quarantine_reason is not null then 'quarantined'
            when
                landed.delivery = 1
                and held._event_id = staged._event_id
                -- the same delivery: state holds what staging holds, not an older copy of it
                and held._loaded_at = staged._loaded_at
                and held._sync_batch_id = staged._sync_batch_id
                then 'applied'
            when
                landed.delivery = 1
                and held._event_id <> staged._event_id
                and (
                    held._source_event_at > staged._source_event_at
                    or (
                        held._source_event_at = staged._source_event_at
                        and held._is_deleted and staged._op <> 'delete'
                    )
                    or (
                        held._source_event_at = staged._source_event_at
                        and held._is_deleted = (staged._op = 'delete')
                        and held._event_id > staged._event_id
                    )
                )
                then 'superseded'
            else 'unaccounted'
        end as disposition,
        case when landed.delivery = 1 then staged._quarantine_reason end as quarantine_reason,
        landed.payload_hash,
        landed.canonical_payload_hash,
        {{ syncgov.sync_now() }} as _disposed_at
    from landed__{{ name }} as landed
    left join staged__{{ name }} as staged
        on
            landed.event_key = staged._event_id
            and landed.delivery = 1
    left join {{ ref(t.state) }} as held
        on
            staged.{{ t.key }} = held.{{ t.key }}
            and staged._quarantine_reason is null
    left join {{ ref('stg__staged_batches') }} as progress
        on
            progress.landing_table = '{{ name }}'
            and landed.batch_key = progress.batch_key

)
{%- endfor %}

{%- for t in sync_landing_tables() %}
{{ 'select * from disposed__' ~ t.system ~ '__' ~ t.entity }}
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
