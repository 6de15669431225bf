-- DESIGN §6.3, accounted, as an error that fails the build after sync_health has been written
-- (so health shows the flow `failed` instead of keeping its last, green value): no flow has a
-- landed event that never reached staging or that state lost, and every landed batch is
-- accounted for (the identity of assert_every_landed_row_is_accounted_for).
select
    flow,
    lost_events,
    unaccounted_batches,
    reason
from {{ ref('sync_health') }}
where
    level = 'flow'
    and (lost_events > 0 or unaccounted_batches > 0)
