{#-
    An entity assembled from its per-source states, field by field from the system that owns
    each field. The primary source is the entity's system of record: its tombstone deletes the
    entity. A secondary source is optional.

    newer_columns exist in both sources; the value of the newer event wins.
    shared_columns are written by both systems: the owner's value (field_ownership seed) wins,
    unless the domain's conflict policy is latest_timestamp, where the newer non-null value
    wins. Every such write is recorded in sync_conflicts.

    Approved manual corrections (seed manual_corrections) come last and take precedence over
    everything; `_corrections` lists the ids applied to the row.

    The row's sync metadata is that of the newest event that contributed to it. Incremental
    runs rebuild only keys that a source changed since this model last ran, and keys whose set
    of effective corrections differs from the one applied.
-#}
{% macro combine_sources(key, primary, primary_columns, domain, secondary=none, secondary_columns=[], newer_columns=[], shared_columns=[]) %}
{%- set sources = [primary] + ([secondary] if secondary is not none else []) -%}
{%- set value_columns = primary_columns + secondary_columns + newer_columns + shared_columns -%}
{%- set types = {} -%}
{%- if execute -%}
{%- for relation in sources -%}
{%- for col in adapter.get_columns_in_relation(relation) -%}
{%- do types.update({col.name | lower: col.data_type}) -%}
{%- endfor -%}
{%- endfor -%}
{%- endif %}

with

effective_corrections as (

    select
        entity_key,
        field,
        value,
        correction_id
    from {{ ref('manual_corrections') }}
    where
        entity = '{{ domain }}'
        and cast(effective_at as {{ dbt.type_timestamp() }}) <= {{ syncgov.sync_now() }}
    -- the latest approved correction of a field wins
    qualify row_number() over (
        partition by entity_key, field
        order by cast(effective_at as {{ dbt.type_timestamp() }}) desc, correction_id desc
    ) = 1

),

corrections as (

    select
        entity_key,
        {%- for col in value_columns %}
        max(case when field = '{{ col }}' then value end) as {{ col }}__corrected,
        {%- endfor %}
        {{ dbt.listagg('correction_id', "','", "order by correction_id") }} as correction_ids
    from effective_corrections
    group by entity_key

),
{%- if is_incremental() %}

changed_keys as (

    {%- for src in sources %}
    select {{ key }}
    from {{ src }}
    where _applied_at > (
        select coalesce(max(_applied_at), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
        from {{ this }}
    )
    union
    {%- endfor %}
    -- corrections added, changed or withdrawn since the row was built
    select coalesce(corrections.entity_key, current_rows.{{ key }}) as {{ key }}
    from corrections
    full outer join {{ this }} as current_rows
        on corrections.entity_key = current_rows.{{ key }}
    where coalesce(corrections.correction_ids, '') != coalesce(current_rows._corrections, '')
    {%- if syncgov.replay_from() %}
    union
    -- replay: keys whose sources may have dropped them altogether
    select {{ key }} from {{ this }} where _loaded_at >= {{ syncgov.replay_from() }}
    {%- endif %}

),
{%- endif %}
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

primary_state as (

    select * from {{ primary }}
    {%- if is_incremental() %}
    where {{ key }} in (select changed_keys.{{ key }} from changed_keys)
    {%- endif %}

),
{%- if secondary is not none %}

secondary_state as (

    select * from {{ secondary }}
    {%- if is_incremental() %}
    where {{ key }} in (select changed_keys.{{ key }} from changed_keys)
    {%- endif %}

),
{%- endif %}

assembled as (

    select
        {%- if secondary is not none %}
        coalesce(primary_state.{{ key }}, secondary_state.{{ key }}) as {{ key }},
        {%- else %}
        primary_state.{{ key }},
        {%- endif %}
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
        {%- if secondary is not none %}
        {{ syncgov.from_newer('primary_state', 'secondary_state', col) }} as {{ col }}
        {%- else %}
        primary_state.{{ col }}
        {%- endif %}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from primary_state
    {%- if secondary is not none %}
    full outer join secondary_state
        on primary_state.{{ key }} = secondary_state.{{ key }}
    {%- endif %}
    {%- if shared_columns %}
    cross join field_rules
    {%- endif %}

),

final as (

    select
        assembled.{{ key }},
        {%- for col in value_columns %}
        coalesce(
            {{ syncgov.try_cast('corrections.' ~ col ~ '__corrected', types.get(col, dbt.type_string())) }},
            assembled.{{ col }}
        ) as {{ col }},
        {%- endfor %}
        assembled._is_deleted,
        assembled._event_id,
        assembled._source_system,
        assembled._source_event_at,
        assembled._loaded_at,
        assembled._sync_batch_id,
        corrections.correction_ids as _corrections,
        {{ syncgov.sync_now() }} as _applied_at,
        '{{ invocation_id }}' as _dbt_invocation_id
    from assembled
    left join corrections
        on cast(assembled.{{ key }} as {{ dbt.type_string() }}) = corrections.entity_key

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
