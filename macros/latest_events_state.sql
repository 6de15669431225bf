{#-
    The state of one source's entity: one row per key holding its latest valid event.

    Order of events for a key: newest `_source_event_at` first; on a tie a tombstone beats an
    upsert, then the greater `_event_id` wins, so the outcome never depends on arrival order.

    Incremental runs read only events staged since the newest one this model holds (staging's
    own clock, so no lookback is needed here: late and out-of-order loads were staged when they
    arrived) and compare each key's newest incoming event with the stored row: an older event
    never replaces a newer one, an older upsert never resurrects a tombstone, and a row is
    rewritten only when an incoming event wins. Re-applying a batch therefore changes
    nothing, not even `_applied_at`.

    With `var('sync_replay_from')` set, every key with an event loaded since then is deleted
    (pre-hook) and rebuilt from all its staged events, so a replay equals a full refresh.

    A tombstone keeps the key, the `identity_columns` (parts of a composite key) and the sync
    metadata; every other column is null.
-#}
{% macro latest_events_state(staged, key, columns, identity_columns=[]) %}
{%- set carried = [key] + identity_columns + columns + ['_is_deleted', '_event_id', '_source_system', '_source_event_at', '_loaded_at', '_sync_batch_id', '_staged_at'] -%}

with incoming as (

    select
        {{ key }},
        {%- for col in identity_columns %}
        {{ col }},
        {%- endfor %}
        {%- for col in columns %}
        -- a tombstone keeps the key and the sync metadata, never a before-image
        case when _op = 'delete' then null else {{ col }} end as {{ col }},
        {%- endfor %}
        _op = 'delete' as _is_deleted,
        _event_id,
        _source_system,
        _source_event_at,
        _loaded_at,
        _sync_batch_id,
        _staged_at
    from {{ staged }}
    where _quarantine_reason is null
    {%- if is_incremental() and syncgov.replay_from() %}
        -- replay: every key touched since the replay point, from its whole staged history
        and {{ key }} in (
            select touched.{{ key }} from {{ staged }} as touched
            where touched._loaded_at >= {{ syncgov.replay_from() }}
        )
    {%- elif is_incremental() %}
        and _staged_at > (
            select coalesce(max(_staged_at), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
            from {{ this }}
        )
    {%- endif %}

),

newest_incoming as (

    select *
    from incoming
    qualify row_number() over (
        partition by {{ key }}
        order by _source_event_at desc, _is_deleted desc, _event_id desc
    ) = 1

),

{%- if is_incremental() and not syncgov.replay_from() %}

stored as (

    select
        {%- for col in carried %}
        {{ col }},
        {%- endfor %}
        true as _is_stored
    from {{ this }}
    where {{ key }} in (select newest_incoming.{{ key }} from newest_incoming)

),

contenders as (

    select
        {%- for col in carried %}
        {{ col }},
        {%- endfor %}
        false as _is_stored
    from newest_incoming
    union all
    select * from stored

),

winners as (

    -- The same event in a delivery that precedes the stored one (a late commit stamped
    -- earlier, which staging staged in its place) replaces it; on a full tie (the same
    -- delivery again) the stored row wins: nothing is rewritten.
    select *
    from contenders
    qualify row_number() over (
        partition by {{ key }}
        order by
            _source_event_at desc, _is_deleted desc, _event_id desc,
            _loaded_at asc, _sync_batch_id asc, _is_stored desc
    ) = 1

),

changed as (

    select * from winners where not _is_stored

),

{%- else %}

changed as (

    select * from newest_incoming

),

{%- endif %}

final as (

    select
        {%- for col in carried %}
        {{ col }},
        {%- endfor %}
        {{ syncgov.sync_now() }} as _applied_at,
        '{{ invocation_id }}' as _dbt_invocation_id
    from changed

)

select * from final
{% endmacro %}

