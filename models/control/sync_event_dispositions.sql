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

{%- for t in sync_landing_tables() %}
{%- set name = t.system ~ '__' ~ t.entity %}

{{ 'with' if loop.first else ',' }} identified__{{ name }} as (

    select
        _sync_batch_id,
        _loaded_at,
        {{ syncgov.sync_event_key(t.key_column) }} as event_key,
        {{ syncgov.payload_hash(source(t.system, t.entity)) }} as payload_hash
    from {{ source(t.system, t.entity) }}

),

landed__{{ name }} as (

    select
        *,
        coalesce(_sync_batch_id, '∅') as batch_key,
        count(*) over (partition by coalesce(_sync_batch_id, '∅')) as batch_rows_landed,
        row_number() over (
            partition by event_key
            order by {{ syncgov.delivery_order(payload_hash='payload_hash') }}
        ) as delivery,
        first_value(payload_hash) over (
            partition by event_key
            order by {{ syncgov.delivery_order(payload_hash='payload_hash') }}
            rows between unbounded preceding and unbounded following
        ) as canonical_payload_hash
    from identified__{{ name }}

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
        landed.canonical_payload_hash
    from landed__{{ name }} as landed
    left join {{ ref('stg_' ~ name) }} as staged
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
