-- warn: as an error it would skip sync_health, which computes the same identity, turns the
-- flow `failed` and fails the build through assert_no_landed_event_is_lost; this test lists
-- the batches.
{{ config(severity='warn') }}
-- DESIGN §6.3, accounted: for every landed batch, the rows that landed (counted from the
-- landing tables by the reconciliation, independently of the dispositions) equal applied +
-- superseded + duplicate + conflicting duplicate + quarantined. Rows that never reached
-- staging, or that state lost, are not in that sum, so they fail this test.
-- Ledger batches with nothing landed (missing batches, sequence gaps) have no rows to account.
with reconciliation as (

    select
        landing_table,
        coalesce(batch_id, '∅') as batch_key,
        rows_landed
    from {{ ref('sync_reconciliation') }}
    where rows_landed > 0

),

accounting as (

    select
        landing_table,
        coalesce(batch_id, '∅') as batch_key,
        rows_accounted,
        not_staged,
        unaccounted
    from {{ ref('sync_batch_accounting') }}

)

select
    coalesce(reconciliation.landing_table, accounting.landing_table) as landing_table,
    coalesce(reconciliation.batch_key, accounting.batch_key) as batch_key,
    reconciliation.rows_landed as rows_landed_per_reconciliation,
    accounting.rows_accounted,
    accounting.not_staged,
    accounting.unaccounted
from reconciliation
full outer join accounting
    on
        reconciliation.landing_table = accounting.landing_table
        and reconciliation.batch_key = accounting.batch_key
where coalesce(reconciliation.rows_landed, -1) <> coalesce(accounting.rows_accounted, -2)
