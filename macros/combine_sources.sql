{#-
    An entity assembled from two per-source states, field by field from the system that owns
    each field. The primary source is the entity's system of record: its tombstone deletes the
    entity. `newer_columns` exist in both sources; the value of the newer event wins.
    The row's sync metadata is that of the newest event that contributed to it.

    `shared_columns` are written by both systems: the owner's value (field ownership seed)
    wins, unless the domain's conflict policy is latest_timestamp, where the newer non-null
    value wins. Every such write is recorded in sync_conflicts.

    Incremental runs rebuild only the keys that either source changed since this model last ran.
-#}
{% macro combine_sources(key, primary, secondary, primary_columns, secondary_columns, newer_columns=[], domain=none, shared_columns=[]) %}

with
{%- if is_incremental() %}

changed_keys as (

    {%- for src in [primary, secondary] %}
    select {{ key }}
    from {{ src }}
    where _applied_at > (
        select coalesce(max(_applied_at), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
        from {{ this }}
    )
    {%- if not loop.last %}
    union
    {%- endif %}
    {%- endfor %}
    {%- if syncgov.replay_from() %}
    union
    -- replay: keys whose sources may have dropped them altogether
    select {{ key }} from {{ this }} where _loaded_at >= {{ syncgov.replay_from() }}
    {%- endif %}

),
{%- endif %}

primary_state as (

    select * from {{ primary }}
    {%- if is_incremental() %}
    where {{ key }} in (select changed_keys.{{ key }} from changed_keys)
    {%- endif %}

),

{%- if shared_columns %}

field_rules as (

    select
        max(policies.conflict_policy) as conflict_policy,
        {%- for col in shared_columns %}
        max(case when ownership.field = '{{ col }}' then ownership.owner_system end) as {{ col }}__owner
        {{- ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('domain_policies') }} as policies
    left join {{ ref('field_ownership') }} as ownership
        on policies.domain = ownership.domain
    where policies.domain = '{{ domain }}'

),
{%- endif %}

secondary_state as (

    select * from {{ secondary }}
    {%- if is_incremental() %}
    where {{ key }} in (select changed_keys.{{ key }} from changed_keys)
    {%- endif %}

),

final as (

    select
        coalesce(primary_state.{{ key }}, secondary_state.{{ key }}) as {{ key }},
        {%- for col in primary_columns %}
        primary_state.{{ col }},
        {%- endfor %}
        {%- for col in secondary_columns %}
        secondary_state.{{ col }},
        {%- endfor %}
        {%- for col in newer_columns %}
        {{ syncgov.from_newer('primary_state', 'secondary_state', col) }} as {{ col }},
        {%- endfor %}
        {%- for col in shared_columns %}
        case
            when
                field_rules.conflict_policy = 'latest_timestamp'
                and secondary_state.{{ col }} is not null
                and (
                    primary_state.{{ col }} is null
                    or secondary_state._source_event_at > primary_state._source_event_at
                )
                then secondary_state.{{ col }}
            when field_rules.conflict_policy = 'latest_timestamp' then primary_state.{{ col }}
            when field_rules.{{ col }}__owner = secondary_state._source_system then secondary_state.{{ col }}
            else primary_state.{{ col }}
        end as {{ col }},
        {%- endfor %}
        coalesce(primary_state._is_deleted, false) as _is_deleted,
        {%- for col in ['_event_id', '_source_system', '_source_event_at', '_loaded_at', '_sync_batch_id'] %}
        {{ syncgov.from_newer('primary_state', 'secondary_state', col) }} as {{ col }},
        {%- endfor %}
        {{ syncgov.sync_now() }} as _applied_at,
        '{{ invocation_id }}' as _dbt_invocation_id
    from primary_state
    full outer join secondary_state
        on primary_state.{{ key }} = secondary_state.{{ key }}
    {%- if shared_columns %}
    cross join field_rules
    {%- endif %}

)

select * from final
{% endmacro %}


{#- The value of `column` from whichever of two sources holds the newer event for the key. -#}
{% macro from_newer(primary, secondary, column) -%}
    case
        when {{ secondary }}._source_event_at > {{ primary }}._source_event_at
            or {{ primary }}._source_event_at is null
            then {{ secondary }}.{{ column }}
        else {{ primary }}.{{ column }}
    end
{%- endmacro %}
