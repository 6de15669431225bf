{#-
    One row per ledger batch and per landed batch (and per gap in a table's sequence):
    what the sender announced against what arrived, and a verdict. One row per batch, so
    rebuilt whole each run from the ledger and the per-batch counts of `sync_landed_batches`.
-#}

with ledger as (

    select
        batch_id,
        source_system,
        landing_table,
        sequence_number,
        started_at,
        finished_at,
        status as ledger_status,
        rows_sent,
        event_id_checksum as sent_checksum
    from {{ sync_ledger() }}

),

landed as (

    -- counted from the landing tables, incrementally per batch (sync_landed_batches)
    select
        landing_table,
        source_system,
        batch_id,
        rows_landed,
        distinct_events,
        landed_checksum
    from {{ ref('sync_landed_batches') }}

),

batches as (

    select
        coalesce(ledger.batch_id, landed.batch_id) as batch_id,
        coalesce(ledger.landing_table, landed.landing_table) as landing_table,
        coalesce(ledger.source_system, landed.source_system) as source_system,
        ledger.sequence_number,
        ledger.started_at,
        ledger.finished_at,
        ledger.ledger_status,
        ledger.rows_sent,
        coalesce(landed.rows_landed, 0) as rows_landed,
        coalesce(landed.distinct_events, 0) as distinct_events,
        ledger.sent_checksum,
        coalesce(landed.landed_checksum, 0) as landed_checksum,
        cast(null as {{ dbt.type_int() }}) as missing_sequences,
        case
            when ledger.batch_id is null then 'unannounced'
            -- a loader that cannot say what it sent (docs/loaders.md): nothing to reconcile against
            when ledger.rows_sent is null then 'unverifiable'
            when landed.batch_id is null and ledger.rows_sent > 0 then 'batch_missing'
            when coalesce(landed.rows_landed, 0) < ledger.rows_sent then 'missing_rows'
            when coalesce(landed.rows_landed, 0) > ledger.rows_sent then 'extra_rows'
            when coalesce(landed.landed_checksum, 0) <> ledger.sent_checksum then 'checksum_mismatch'
            else 'reconciled'
        end as reconciliation_status
    from ledger
    full outer join landed
        on
            ledger.batch_id = landed.batch_id
            and ledger.landing_table = landed.landing_table

),

sequenced as (

    select
        landing_table,
        source_system,
        sequence_number,
        lead(sequence_number) over (
            partition by landing_table
            order by sequence_number
        ) as next_sequence_number
    from ledger

),

gaps as (

    -- Batch numbers that never reached the ledger while later ones did.
    select
        cast(null as {{ dbt.type_string() }}) as batch_id,
        landing_table,
        source_system,
        sequence_number + 1 as sequence_number,
        cast(null as {{ dbt.type_timestamp() }}) as started_at,
        cast(null as {{ dbt.type_timestamp() }}) as finished_at,
        cast(null as {{ dbt.type_string() }}) as ledger_status,
        cast(null as {{ dbt.type_bigint() }}) as rows_sent,
        0 as rows_landed,
        0 as distinct_events,
        cast(null as {{ dbt.type_bigint() }}) as sent_checksum,
        0 as landed_checksum,
        next_sequence_number - sequence_number - 1 as missing_sequences,
        'sequence_gap' as reconciliation_status
    from sequenced
    where next_sequence_number - sequence_number > 1

),

final as (

    select * from batches
    union all
    select * from gaps

)

select
    final.landing_table || ':' || coalesce(
        final.batch_id,
        'gap-' || cast(final.sequence_number as {{ dbt.type_string() }}),
        '(no batch id)'
    ) as reconciliation_id,
    final.*,
    final.reconciliation_status = 'reconciled' as is_reconciled
from final
