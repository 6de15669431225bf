{#- The audit trail of manual corrections: each approved correction, and where state holds it. -#}

{#- every domain with an entity state and its key, from the registry (syncgov generate) -#}
{%- set keys = sync_domains() %}
{%- set entities = keys.keys() | list %}

with corrections as (

    select * from {{ ref('manual_corrections') }}

),

applied as (
    {%- for entity in entities %}

    select
        '{{ entity }}' as entity,
        cast({{ keys[entity] }} as {{ dbt.type_string() }}) as entity_key,
        _corrections,
        _applied_at,
        _dbt_invocation_id
    from {{ ref(entity ~ '_state') }}
    where _corrections is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

final as (

    select
        corrections.correction_id,
        corrections.entity,
        corrections.entity_key,
        corrections.field,
        corrections.value,
        corrections.reason,
        corrections.approved_by,
        corrections.ticket,
        corrections.effective_at,
        applied.entity_key is not null as is_applied,
        applied._applied_at as applied_at,
        applied._dbt_invocation_id as applied_by_invocation
    from corrections
    left join applied
        on
            corrections.entity = applied.entity
            and corrections.entity_key = applied.entity_key
            and {{ dbt.position("corrections.correction_id", "applied._corrections") }} > 0

)

select * from final
