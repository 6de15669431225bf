{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['landing_table'],
    on_schema_change='fail',
) }}

{#-
    State rows that no valid staged delivery backs: state kept an older delivery of an event
    staging replaced (an earlier delivery committed late), or holds an event staging now
    quarantines (that earlier delivery was invalid). Dispositions cannot show either (the
    staged delivery is classified, not the state row), so `sync_health` counts these rows as
    lost events and turns the flow `failed`.

    Rows: one `orphaned` row per state row found so, and one `checked` row per landing table
    recording when its state was last checked. Each run replaces a table's rows (delete+insert
    per landing table): the orphans are few, so the whole set is written again.

    An incremental run checks only the state rows whose backing can have changed since the last
    check (`checked_at`): rows state wrote since, rows whose event staging re-staged since
    (replaced or quarantined: staging stamps `_staged_at` on every row it writes), and the rows
    held here as orphaned (an orphan backed again, or gone from state, drops out). A staged row that vanishes with no trace is not seen here; the
    dispositions catch it (its batch's staged count falls: `not_staged`). `--full-refresh` and a
    replay check every state row, and give the same rows (tests/e2e/test_incremental_controls.py).
-#}

{%- set scoped = is_incremental() and not syncgov.replay_from() %}

{%- if scoped %}
with since as (

    select
        coalesce(max(checked_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) as checked_at
    from {{ this }}
    where check_kind = 'checked'

),

held_orphans as (

    select
        landing_table,
        entity_key
    from {{ this }}
    where check_kind = 'orphaned'

)
{%- endif %}

{%- for t in sync_landing_tables() %}
{%- set name = t.system ~ '__' ~ t.entity %}
{#- the candidates' columns, in every branch alike -#}
{%- set held_columns -%}
held.{{ t.key }},
        held._event_id,
        held._loaded_at,
        held._sync_batch_id
{%- endset %}

{{ ('with' if not scoped else ',') if loop.first else ',' }} candidates__{{ name }} as (

    {%- if scoped %}
    -- the state rows whose backing can have changed: each a small filtered read, so the join
    -- below builds on them rather than on every state row
    select
        {{ held_columns }}
    from {{ ref(t.state) }} as held
    where held._applied_at >= (select since.checked_at from since)
    union
    select
        {{ held_columns }}
    from {{ ref(t.state) }} as held
    where held._event_id in (
        select restaged._event_id
        from {{ ref('stg_' ~ name) }} as restaged
        where restaged._staged_at >= (select since.checked_at from since)
    )
    union
    select
        {{ held_columns }}
    from {{ ref(t.state) }} as held
    where cast(held.{{ t.key }} as {{ dbt.type_string() }}) in (
        select ho.entity_key from held_orphans as ho where ho.landing_table = '{{ name }}'
    )
    {%- else %}
    select
        {{ held_columns }}
    from {{ ref(t.state) }} as held
    {%- endif %}

),

backing__{{ name }} as (

    -- the valid staged rows of the candidates' events: a semi-join that builds on the few
    -- candidates and probes staging, instead of hashing all of staging
    select
        staged._event_id,
        staged._loaded_at,
        staged._sync_batch_id
    from {{ ref('stg_' ~ name) }} as staged
    where
        staged._quarantine_reason is null
        and staged._event_id in (select candidate._event_id from candidates__{{ name }} as candidate)

),

checked__{{ name }} as (

    select
        cast(held.{{ t.key }} as {{ dbt.type_string() }}) as entity_key,
        held._event_id,
        staged._event_id is null as is_orphaned
    from candidates__{{ name }} as held
    left join backing__{{ name }} as staged
        on
            held._event_id = staged._event_id
            and held._loaded_at = staged._loaded_at
            and held._sync_batch_id = staged._sync_batch_id

),

found__{{ name }} as (

    select
        '{{ name }}' as landing_table,
        'orphaned' as check_kind,
        checked.entity_key,
        checked._event_id
    from checked__{{ name }} as checked
    where checked.is_orphaned
    union all
    select
        '{{ name }}' as landing_table,
        'checked' as check_kind,
        cast(null as {{ dbt.type_string() }}) as entity_key,
        cast(null as {{ dbt.type_string() }}) as _event_id

)
{%- endfor %}

select
    found.landing_table || coalesce(':key:' || found.entity_key, ':checked') as orphan_check_id,
    found.landing_table,
    found.check_kind,
    found.entity_key,
    found._event_id,
    {{ syncgov.sync_now() }} as checked_at
from (
    {%- for t in sync_landing_tables() %}
    select * from found__{{ t.system }}__{{ t.entity }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
) as found
