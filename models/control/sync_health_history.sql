{{ config(materialized='incremental', incremental_strategy='append') }}

{#- One row per domain per dbt run: the raw material of SLO attainment and error budgets. -#}

with health as (

    select * from {{ ref('sync_health') }}
    where level = 'domain'

),

final as (

    select
        domain || ':' || '{{ invocation_id }}' as history_id,
        domain,
        criticality,
        slo_minutes,
        status,
        reason,
        staleness_minutes,
        latency_p95_minutes,
        unreconciled_batches,
        evaluated_at,
        '{{ invocation_id }}' as dbt_invocation_id
    from health

)

select * from final
