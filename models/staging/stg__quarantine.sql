{{ config(materialized='view') }}

{#- Every invalid event from every landing table, with the rule it broke and the evidence. -#}

with quarantined as (
    {%- for t in sync_landing_tables() %}

    select
        '{{ t.system }}__{{ t.entity }}' as landing_table,
        '{{ t.domain }}' as domain,
        _event_id,
        _source_system,
        _sync_batch_id,
        _loaded_at,
        _source_event_at_raw,
        cast({{ t.key }} as {{ dbt.type_string() }}) as entity_key,
        _quarantine_reason,
        _quarantine_detail
    from {{ ref('stg_' ~ t.system ~ '__' ~ t.entity) }}
    where _quarantine_reason is not null
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

)

select * from quarantined
