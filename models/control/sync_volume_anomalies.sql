{#-
    Rows per batch of every flow against the flow's own baseline: a source that delivers on
    time but far fewer rows than usual (or, where a domain asks, far more) is an anomaly.

    The volume of a batch is what the sender announced in the ledger (rows_sent), else what
    landed; failed batches are not judged. The baseline of a batch is the mean and standard
    deviation of earlier batches of the same flow: those in the same hour of the week when
    there are at least `min_history` of them (seasonality), else the most recent ones
    (`sync_volume_window_batches`, default 96), else none (not judged yet).

    A batch is an anomaly when its volume is off the baseline mean by more than `sensitivity`
    standard deviations AND by more than `min_change_ratio` of the mean, in the domain's
    `direction` (drop by default): both margins, so a very steady source's tiny variance
    never alarms and a noisy one needs a real change. Settings per domain from the registry
    (`volume_anomaly` in domains.yml → seeds/generated/volume_policies.csv).
-#}
{%- set recent = var('sync_volume_window_batches', 96) | int -%}
{%- set seasonal = var('sync_volume_seasonal_batches', 96) | int -%}

with policies as (

    select
        domain,
        direction,
        cast(sensitivity as {{ dbt.type_float() }}) as sensitivity,
        cast(min_change_ratio as {{ dbt.type_float() }}) as min_change_ratio,
        cast(min_history as {{ dbt.type_int() }}) as min_history
    from {{ ref('volume_policies') }}

),

flows as (
    {%- for t in sync_landing_tables() %}

    select
        '{{ t.system }}__{{ t.entity }}' as landing_table,
        '{{ t.domain }}' as domain
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

batches as (

    select
        reconciliation.landing_table,
        reconciliation.batch_id,
        reconciliation.finished_at,
        cast(coalesce(reconciliation.rows_sent, reconciliation.rows_landed) as {{ dbt.type_float() }})
            as rows_in_batch,
        -- hours since a Monday midnight, modulo a week: 0 = Monday 00:00-01:00 UTC
        mod({{ dbt.datediff("cast('2024-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ ")",
                            'reconciliation.finished_at', 'hour') }}, 168) as hour_of_week
    from {{ ref('sync_reconciliation') }} as reconciliation
    where
        reconciliation.batch_id is not null
        and reconciliation.finished_at is not null
        and coalesce(reconciliation.ledger_status, 'success') <> 'failed'

),

baselines as (

    select
        *,
        count(*) over (
            partition by landing_table
            order by finished_at, batch_id
            rows between {{ recent }} preceding and 1 preceding
        ) as recent_batches,
        avg(rows_in_batch) over (
            partition by landing_table
            order by finished_at, batch_id
            rows between {{ recent }} preceding and 1 preceding
        ) as recent_mean,
        stddev_samp(rows_in_batch) over (
            partition by landing_table
            order by finished_at, batch_id
            rows between {{ recent }} preceding and 1 preceding
        ) as recent_stddev,
        count(*) over (
            partition by landing_table, hour_of_week
            order by finished_at, batch_id
            rows between {{ seasonal }} preceding and 1 preceding
        ) as seasonal_batches,
        avg(rows_in_batch) over (
            partition by landing_table, hour_of_week
            order by finished_at, batch_id
            rows between {{ seasonal }} preceding and 1 preceding
        ) as seasonal_mean,
        stddev_samp(rows_in_batch) over (
            partition by landing_table, hour_of_week
            order by finished_at, batch_id
            rows between {{ seasonal }} preceding and 1 preceding
        ) as seasonal_stddev,
        row_number() over (
            partition by landing_table
            order by finished_at desc, batch_id desc
        ) as recency
    from batches

),

chosen as (

    select
        baselines.landing_table,
        flows.domain,
        baselines.batch_id,
        baselines.finished_at,
        baselines.hour_of_week,
        baselines.rows_in_batch,
        policies.direction,
        policies.sensitivity,
        policies.min_change_ratio,
        policies.min_history,
        baselines.recency = 1 as is_latest,
        case
            when baselines.seasonal_batches >= policies.min_history then 'hour_of_week'
            when baselines.recent_batches >= policies.min_history then 'recent'
        end as baseline_kind,
        case
            when baselines.seasonal_batches >= policies.min_history then baselines.seasonal_batches
            else baselines.recent_batches
        end as baseline_batches,
        case
            when baselines.seasonal_batches >= policies.min_history then baselines.seasonal_mean
            else baselines.recent_mean
        end as baseline_mean,
        coalesce(case
            when baselines.seasonal_batches >= policies.min_history then baselines.seasonal_stddev
            else baselines.recent_stddev
        end, 0) as baseline_stddev
    from baselines
    inner join flows on baselines.landing_table = flows.landing_table
    left join policies on flows.domain = policies.domain

),

bounds as (

    select
        *,
        case
            when sensitivity * baseline_stddev > min_change_ratio * baseline_mean
                then sensitivity * baseline_stddev
            else min_change_ratio * baseline_mean
        end as margin
    from chosen

),

judged as (

    select
        *,
        baseline_mean - margin as expected_low,
        baseline_mean + margin as expected_high,
        case
            when baseline_kind is null then null  -- direction off matches neither branch
            when direction in ('drop', 'both') and rows_in_batch < baseline_mean - margin then 'drop'
            when direction in ('spike', 'both') and rows_in_batch > baseline_mean + margin then 'spike'
        end as anomaly
    from bounds

),

final as (

    select
        landing_table || ':' || batch_id as volume_check_id,
        landing_table,
        domain,
        batch_id,
        finished_at,
        hour_of_week,
        rows_in_batch,
        baseline_kind,
        baseline_batches,
        baseline_mean,
        baseline_stddev,
        expected_low,
        expected_high,
        direction,
        sensitivity,
        min_change_ratio,
        min_history,
        anomaly,
        anomaly is not null as is_anomaly,
        is_latest
    from judged

)

select * from final
