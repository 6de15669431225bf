{#-
    Warn-level SLO check inside `dbt build`: fails when the newest successful batch of a
    landing table in the loader's ledger is older than the domain's latency SLO.
-#}
{% test sync_batch_latency_within_slo(model, landing_table, slo_minutes) %}

with last_success as (

    select max(finished_at) as finished_at
    from {{ sync_ledger() }}
    where landing_table = '{{ landing_table }}' and status = 'success'

)

select
    '{{ landing_table }}' as landing_table,
    finished_at as last_successful_batch_at,
    {{ slo_minutes }} as slo_minutes
from last_success
where finished_at is null
    or finished_at < {{ dbt.dateadd('minute', -(slo_minutes | int), syncgov.sync_now()) }}

{% endtest %}
