{#- Per landed batch: landed = applied + superseded + duplicate + quarantined. -#}

with dispositions as (

    select * from {{ ref('sync_event_dispositions') }}

),

final as (

    select
        landing_table,
        source_system,
        _sync_batch_id as batch_id,
        count(*) as rows_landed,
        sum(case when disposition = 'applied' then 1 else 0 end) as applied,
        sum(case when disposition = 'superseded' then 1 else 0 end) as superseded,
        sum(case when disposition = 'duplicate' then 1 else 0 end) as duplicates,
        sum(case when disposition = 'quarantined' then 1 else 0 end) as quarantined
    from dispositions
    group by landing_table, source_system, _sync_batch_id

)

select * from final
