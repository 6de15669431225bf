{#-
    Health per flow (one landing table: a source system feeding a domain) and per domain:
    staleness against the domain's latency SLO, propagation latency, duplicates, quarantine,
    unreconciled batches, drift, and a status with a reason a person can act on.

    status, worst first:
      failed   the latest batch failed, no batch ever succeeded, or landed events never
               reached staging or were lost by state (an internal failure)
      delayed  the last successful batch is older than the SLO
      partial  batches in the health window did not reconcile (missing, partial, sequence
               gaps, rows without a batch id), the source redelivered an event id with a
               different payload in the window (a conflicting redelivery), or the latest
               batch's volume is an anomaly (sync_volume_anomalies: on time, but far fewer rows
               than the flow's baseline), or a declared landing column arrives retyped
               (sync_schema_drift)
      failed   also: a declared landing column is missing (staging of the table pauses; its
               batches stay pending until the column is back)
      current  none of the above
      unknown  no ledger entry at all
-#}
{%- set window_hours = var('sync_health_window_hours', 24) | int -%}
{%- set accepting = [] -%}
{%- for t in sync_landing_tables() if t.unverifiable is defined and t.unverifiable == 'accept' -%}
    {%- do accepting.append(t.system ~ '__' ~ t.entity) -%}
{%- endfor -%}

with policies as (

    select
        domain,
        criticality,
        cast(slo_minutes as {{ dbt.type_int() }}) as slo_minutes
    from {{ ref('domain_policies') }}

),

flows as (
    {%- for t in sync_landing_tables() %}

    select
        '{{ t.system }}__{{ t.entity }}' as landing_table,
        '{{ t.domain }}' as domain,
        '{{ t.system }}' as source_system
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

clock as (

    select
        {{ syncgov.sync_now() }} as evaluated_at,
        {{ dbt.dateadd('hour', -window_hours, syncgov.sync_now()) }} as window_start

),

ledger as (

    select
        batches.landing_table,
        max(case when batches.status = 'success' then batches.finished_at end) as last_success_at,
        max(batches.finished_at) as last_batch_at,
        max(case when batches.status = 'success' then batches.batch_id end) as last_success_batch_id
    from {{ sync_ledger() }} as batches
    group by batches.landing_table

),

latest_status as (

    select
        landing_table,
        status as latest_batch_status
    from {{ sync_ledger() }}
    qualify row_number() over (
        partition by landing_table
        order by finished_at desc, batch_id desc
    ) = 1

),

unreconciled as (

    select
        reconciliation.landing_table,
        count(*) as unreconciled_batches,
        min(
            reconciliation.reconciliation_status || ' ' || coalesce(
                reconciliation.batch_id,
                'at sequence ' || cast(reconciliation.sequence_number as {{ dbt.type_string() }}),
                '(no batch id)'
            )
        ) as first_unreconciled
    from {{ ref('sync_reconciliation') }} as reconciliation
    cross join clock
    where
        not reconciliation.is_reconciled
        and coalesce(reconciliation.finished_at, clock.evaluated_at) >= clock.window_start
        -- loaders declared `unverifiable: accept`: a batch they cannot prove is not a gap
        and not (
            reconciliation.reconciliation_status = 'unverifiable'
            and reconciliation.landing_table in ('{{ accepting | join("', '") }}')
        )
    group by reconciliation.landing_table

),

dispositions as (

    -- the per-batch counts of the dispositions (sync_batch_accounting), summed per flow
    select
        landing_table,
        sum(duplicates) as duplicates,
        sum(quarantined) as quarantined,
        sum(not_staged + unaccounted) as lost_events,
        sum(pending) as pending_events,
        sum(rows_disposed) as rows_landed
    from {{ ref('sync_batch_accounting') }}
    group by landing_table

),

conflicting_redeliveries as (

    -- conflicting redeliveries that landed in the window (few rows: a filtered read)
    select
        dispositions.landing_table,
        count(*) as duplicate_conflicts
    from {{ ref('sync_event_dispositions') }} as dispositions
    cross join clock
    where
        dispositions.disposition = 'duplicate_conflict'
        and dispositions._loaded_at between clock.window_start and clock.evaluated_at
    group by dispositions.landing_table

),

latency as (
    {%- for t in sync_landing_tables() %}

    select
        '{{ t.system }}__{{ t.entity }}' as landing_table,
        {{ syncgov.percentile_minutes('staged._loaded_at', 'staged._source_event_at', 0.5) }} as latency_p50_minutes,
        {{ syncgov.percentile_minutes('staged._loaded_at', 'staged._source_event_at', 0.95) }} as latency_p95_minutes
    from {{ ref('stg_' ~ t.system ~ '__' ~ t.entity) }} as staged
    cross join clock
    where staged._quarantine_reason is null and staged._loaded_at >= clock.window_start
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

landed_batches as (

    select
        landing_table,
        coalesce(batch_id, '∅') as batch_key,
        rows_landed
    from {{ ref('sync_reconciliation') }}
    where rows_landed > 0

),

accounted_batches as (

    select
        landing_table,
        coalesce(batch_id, '∅') as batch_key,
        rows_accounted
    from {{ ref('sync_batch_accounting') }}

),

accounting_gaps as (

    -- batches whose landed rows (counted by the reconciliation) are not all accounted for by
    -- the dispositions: the per-batch identity of assert_every_landed_row_is_accounted_for
    select
        coalesce(landed_batches.landing_table, accounted_batches.landing_table) as landing_table,
        count(*) as unaccounted_batches
    from landed_batches
    full outer join accounted_batches
        on
            landed_batches.landing_table = accounted_batches.landing_table
            and landed_batches.batch_key = accounted_batches.batch_key
    where coalesce(landed_batches.rows_landed, -1) <> coalesce(accounted_batches.rows_accounted, -2)
    group by coalesce(landed_batches.landing_table, accounted_batches.landing_table)

),

orphaned as (

    -- state rows that no valid staged delivery backs (state kept an older delivery of an event
    -- staging replaced, or an event staging now quarantines): checked incrementally there
    select
        landing_table,
        count(*) as orphaned_state_rows
    from {{ ref('sync_orphaned_state') }}
    where check_kind = 'orphaned'
    group by landing_table

),

conflicts as (

    select
        landing_table,
        count(*) as open_conflicts
    from {{ ref('sync_conflicts') }}
    where status = 'open'
    group by landing_table

),

drift as (

    select
        landing_table,
        missing_in_warehouse + missing_in_source + mismatched_keys as drifted_keys
    from {{ ref('sync_drift_summary') }}

),

{# Landing schema drift (sync_schema_drift): removed columns stop staging, retyped ones are read as text. #}
schema_drift_columns as (

    select
        landing_table,
        max(case when change = 'removed' then 1 else 0 end) as columns_removed,
        max(case when change = 'retyped' then 1 else 0 end) as columns_retyped,
        {{ dbt.listagg("column_name || ' ' || change", "', '", "order by column_name") }}
            as drifted_columns
    from {{ ref('sync_schema_drift') }}
    group by landing_table

),

schema_drift as (

    select
        landing_table as schema_landing_table,
        columns_removed,
        columns_retyped,
        landing_table || ': landing schema drift, ' || drifted_columns as schema_reason
    from schema_drift_columns

),

{# Volume anomalies: the latest judged batch of a flow far off its baseline (volume rule below). #}
volume as (

    select
        landing_table as volume_landing_table,
        anomaly as volume_anomaly,
        landing_table || ': volume ' || anomaly || ', '
        || cast(cast(rows_in_batch as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }})
        || ' rows in batch ' || batch_id || ' against a baseline of '
        || cast(cast(round(baseline_mean, 0) as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }})
        || ' (' || baseline_kind || ')' as volume_reason
    from {{ ref('sync_volume_anomalies') }}
    where is_latest and is_anomaly

),

flow_health as (

    select
        'flow' as level,
        flows.domain,
        flows.landing_table as flow,
        flows.source_system,
        policies.criticality,
        policies.slo_minutes,
        ledger.last_success_at,
        ledger.last_success_batch_id,
        latest_status.latest_batch_status,
        {{ dbt.datediff('ledger.last_success_at', 'clock.evaluated_at', 'minute') }}
            as staleness_minutes,
        latency.latency_p50_minutes,
        latency.latency_p95_minutes,
        coalesce(dispositions.rows_landed, 0) as rows_landed,
        coalesce(dispositions.duplicates, 0) as duplicates,
        coalesce(dispositions.quarantined, 0) as quarantined,
        coalesce(conflicting_redeliveries.duplicate_conflicts, 0) as duplicate_conflicts,
        coalesce(dispositions.lost_events, 0) + coalesce(orphaned.orphaned_state_rows, 0)
            as lost_events,
        coalesce(accounting_gaps.unaccounted_batches, 0) as unaccounted_batches,
        coalesce(dispositions.pending_events, 0) as pending_events,
        coalesce(unreconciled.unreconciled_batches, 0) as unreconciled_batches,
        coalesce(drift.drifted_keys, 0) as drifted_keys,
        coalesce(conflicts.open_conflicts, 0) as open_conflicts,
        unreconciled.first_unreconciled,
        clock.evaluated_at
    from flows
    cross join clock
    left join policies on flows.domain = policies.domain
    left join ledger on flows.landing_table = ledger.landing_table
    left join latest_status on flows.landing_table = latest_status.landing_table
    left join unreconciled on flows.landing_table = unreconciled.landing_table
    left join dispositions on flows.landing_table = dispositions.landing_table
    left join conflicting_redeliveries on flows.landing_table = conflicting_redeliveries.landing_table
    left join latency on flows.landing_table = latency.landing_table
    left join drift on flows.landing_table = drift.landing_table
    left join conflicts on flows.landing_table = conflicts.landing_table
    left join accounting_gaps on flows.landing_table = accounting_gaps.landing_table
    left join orphaned on flows.landing_table = orphaned.landing_table

),

flow_status as (

    select
        flow_health.*,
        case
            when last_success_at is null and latest_batch_status is null then 'unknown'
            when latest_batch_status = 'failed' or last_success_at is null then 'failed'
            when lost_events > 0 or unaccounted_batches > 0 then 'failed'
            when schema_drift.columns_removed = 1 then 'failed'
            when staleness_minutes > slo_minutes then 'delayed'
            when unreconciled_batches > 0 then 'partial'
            when duplicate_conflicts > 0 then 'partial'
            when volume.volume_anomaly is not null then 'partial'
            when schema_drift.columns_retyped = 1 then 'partial'
            else 'current'
        end as status,
        case
            when last_success_at is null and latest_batch_status is null
                then flow || ': no batch in the ledger'
            when latest_batch_status = 'failed' then flow || ': the latest batch failed'
            when last_success_at is null then flow || ': no batch has succeeded'
            when lost_events > 0 or unaccounted_batches > 0
                then
                    flow || ': ' || cast(lost_events as {{ dbt.type_string() }})
                    || ' landed event(s) never reached staging or state, '
                    || cast(unaccounted_batches as {{ dbt.type_string() }})
                    || ' batch(es) not fully accounted for (internal failure)'
            when schema_drift.columns_removed = 1
                then schema_drift.schema_reason || ' (staging paused: batches stay pending)'
            when staleness_minutes > slo_minutes
                then
                    flow || ': last successful batch '
                    || cast(staleness_minutes as {{ dbt.type_string() }})
                    || ' min ago, SLO ' || cast(slo_minutes as {{ dbt.type_string() }}) || ' min'
            when unreconciled_batches > 0
                then
                    flow || ': ' || cast(unreconciled_batches as {{ dbt.type_string() }})
                    || ' unreconciled batch(es), e.g. ' || first_unreconciled
            when duplicate_conflicts > 0
                then
                    flow || ': ' || cast(duplicate_conflicts as {{ dbt.type_string() }})
                    || ' event id(s) redelivered with a different payload'
            when volume.volume_anomaly is not null then volume.volume_reason
            when schema_drift.schema_reason is not null then schema_drift.schema_reason
            else flow || ': within SLO'
        end as reason
    from flow_health
    left join volume on flow_health.flow = volume.volume_landing_table
    left join schema_drift on flow_health.flow = schema_drift.schema_landing_table

),

ranked as (

    select
        *,
        case status
            when 'failed' then 4 when 'delayed' then 3 when 'partial' then 2 when 'unknown' then 1
            else 0
        end as severity
    from flow_status

),

ranked_flows as (

    select
        *,
        first_value(reason) over (
            partition by domain
            order by severity desc, reason asc
        ) as domain_reason
    from ranked

),

domain_health as (

    select
        'domain' as level,
        domain,
        cast(null as {{ dbt.type_string() }}) as flow,
        cast(null as {{ dbt.type_string() }}) as source_system,
        max(criticality) as criticality,
        max(slo_minutes) as slo_minutes,
        min(last_success_at) as last_success_at,
        cast(null as {{ dbt.type_string() }}) as last_success_batch_id,
        cast(null as {{ dbt.type_string() }}) as latest_batch_status,
        max(staleness_minutes) as staleness_minutes,
        max(latency_p50_minutes) as latency_p50_minutes,
        max(latency_p95_minutes) as latency_p95_minutes,
        sum(rows_landed) as rows_landed,
        sum(duplicates) as duplicates,
        sum(quarantined) as quarantined,
        sum(duplicate_conflicts) as duplicate_conflicts,
        sum(lost_events) as lost_events,
        sum(unaccounted_batches) as unaccounted_batches,
        sum(pending_events) as pending_events,
        sum(unreconciled_batches) as unreconciled_batches,
        sum(drifted_keys) as drifted_keys,
        sum(open_conflicts) as open_conflicts,
        cast(null as {{ dbt.type_string() }}) as first_unreconciled,
        max(evaluated_at) as evaluated_at,
        max(severity) as severity,
        max(domain_reason) as reason
    from ranked_flows
    group by domain

),

domain_status as (

    select
        domain_health.*,
        case domain_health.severity
            when 4 then 'failed' when 3 then 'delayed' when 2 then 'partial' when 1 then 'unknown'
            else 'current'
        end as status
    from domain_health

),

final as (

    select * exclude (severity, domain_reason) from ranked_flows
    union all
    select
        * exclude (severity, reason),
        reason
    from domain_status

)

select
    final.level || ':' || coalesce(final.flow, final.domain) as health_id,
    final.*
from final
