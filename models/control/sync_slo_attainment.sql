{#-
    SLO attainment per domain over the last 7 and 30 days, from one health observation per run:
    the share of observations in which the domain was current, and how fast it burns its
    error budget (1 - target) — a burn above 1 exhausts the budget before the period ends.
-#}
{%- set target = var('sync_slo_target', 0.99) -%}

with history as (

    select * from {{ ref('sync_health_history') }}

),

clock as (

    select {{ syncgov.sync_now() }} as evaluated_at

),

periods as (

    select 7 as period_days
    union all
    select 30 as period_days

),

observed as (

    select
        history.domain,
        periods.period_days,
        count(*) as observations,
        sum(case when history.status = 'current' then 1 else 0 end) as current_observations,
        sum(case when history.status = 'delayed' then 1 else 0 end) as delayed_observations,
        sum(case when history.status in ('partial', 'failed', 'unknown') then 1 else 0 end)
            as degraded_observations,
        min(history.evaluated_at) as first_observed_at,
        max(history.evaluated_at) as last_observed_at
    from history
    cross join periods
    cross join clock
    where history.evaluated_at >= {{ dbt.dateadd('day', '-periods.period_days', 'clock.evaluated_at') }}
    group by history.domain, periods.period_days

),

final as (

    select
        domain || ':' || cast(period_days as {{ dbt.type_string() }}) || 'd' as attainment_id,
        domain,
        period_days,
        observations,
        current_observations,
        delayed_observations,
        degraded_observations,
        cast(current_observations as {{ dbt.type_float() }}) / observations as attainment,
        {{ target }} as slo_target,
        (1 - cast(current_observations as {{ dbt.type_float() }}) / observations) / (1 - {{ target }})
            as error_budget_burn,
        first_observed_at,
        last_observed_at
    from observed

)

select * from final
