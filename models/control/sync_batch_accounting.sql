{#-
    Per landed batch, how its rows were disposed of. The accounted dispositions are applied,
    superseded, duplicates, conflicting duplicates, quarantined and pending (landed after its
    staging model last ran, staged by its next run); not_staged and unaccounted
    are errors and deliberately not part of `rows_accounted`, so a lost event breaks the
    identity rows_landed = rows_accounted that assert_every_landed_row_is_accounted_for checks
    against the reconciliation's own count of landed rows.
-#}

with dispositions as (

    select * from {{ ref('sync_event_dispositions') }}

),

counted as (

    select
        landing_table,
        source_system,
        _sync_batch_id as batch_id,
        count(*) as rows_disposed,
        sum(case when disposition = 'applied' then 1 else 0 end) as applied,
        sum(case when disposition = 'superseded' then 1 else 0 end) as superseded,
        sum(case when disposition = 'duplicate' then 1 else 0 end) as duplicates,
        sum(case when disposition = 'duplicate_conflict' then 1 else 0 end) as duplicate_conflicts,
        sum(case when disposition = 'quarantined' then 1 else 0 end) as quarantined,
        sum(case when disposition = 'pending' then 1 else 0 end) as pending,
        sum(case when disposition = 'not_staged' then 1 else 0 end) as not_staged,
        sum(case when disposition = 'unaccounted' then 1 else 0 end) as unaccounted
    from dispositions
    group by landing_table, source_system, _sync_batch_id

),

final as (

    select
        *,
        applied + superseded + duplicates + duplicate_conflicts + quarantined + pending
            as rows_accounted
    from counted

)

select * from final
