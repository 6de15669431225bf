{#-
    VENDORED, NOT LIVE CODE. The event dispositions of the design before issue 12, from
    `git show d9589e1:models/control/sync_event_dispositions.sql`: the benchmark's previous
    design only needs a project that parses without the batch-progress model, which today's
    dispositions read. Never built by the benchmark (it runs `staging state` only).
-#}
{#-
    Every landed row gets exactly one disposition:
      duplicate    a later delivery of an event id already landed
      quarantined  the first delivery, invalid (with the reason)
      applied      the first delivery, valid, and the event the state holds for its key now
      superseded   the first delivery, valid, but a newer event for the key won
-#}

{%- for t in sync_landing_tables() %}
{%- set name = t.system ~ '__' ~ t.entity %}

{{ 'with' if loop.first else ',' }} landed__{{ name }} as (

    select
        _sync_batch_id,
        _loaded_at,
        {{ syncgov.sync_event_key(t.key_column) }} as event_key,
        row_number() over (
            partition by {{ syncgov.sync_event_key(t.key_column) }}
            order by _loaded_at, _sync_batch_id
        ) as delivery
    from {{ source(t.system, t.entity) }}

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
            when landed.delivery > 1 then 'duplicate'
            when staged._quarantine_reason is not null then 'quarantined'
            when held._event_id is not null then 'applied'
            else 'superseded'
        end as disposition,
        case when landed.delivery = 1 then staged._quarantine_reason end as quarantine_reason
    from landed__{{ name }} as landed
    left join {{ ref('stg_' ~ name) }} as staged
        on landed.event_key = staged._event_id
    left join {{ ref(t.state) }} as held
        on
            landed.event_key = held._event_id
            and landed.delivery = 1

)
{%- endfor %}

{%- for t in sync_landing_tables() %}
{{ 'select * from disposed__' ~ t.system ~ '__' ~ t.entity }}
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
