-- DESIGN §6.3, accounted: for every batch, the rows that landed (counted from the landing
-- tables by the reconciliation) equal applied + superseded + duplicate + quarantined.
select
    coalesce(reconciliation.batch_id, accounting.batch_id) as batch_id,
    reconciliation.rows_landed as rows_landed_per_reconciliation,
    accounting.applied,
    accounting.superseded,
    accounting.duplicates,
    accounting.quarantined
from {{ ref('sync_reconciliation') }} as reconciliation
full outer join {{ ref('sync_batch_accounting') }} as accounting
    on
        reconciliation.batch_id = accounting.batch_id
        and reconciliation.landing_table = accounting.landing_table
where
    (reconciliation.batch_id is null or reconciliation.rows_landed > 0)
    and coalesce(reconciliation.rows_landed, -1) != coalesce(
        accounting.applied + accounting.superseded + accounting.duplicates + accounting.quarantined,
        -2
    )
