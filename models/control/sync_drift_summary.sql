{#-
    Drift counts per domain and landing table: keys missing on either side, keys and fields that
    differ, as of the table's latest compared extract. Counted by sync_drift_by_extract when it
    compares an extract (its `compared` rows), so a cycle between two extracts reads one row per
    table; tables without drift are left out.
-#}

select
    domain,
    landing_table,
    extracted_at,
    missing_in_warehouse,
    missing_in_source,
    mismatched_keys,
    mismatched_fields
from {{ ref('sync_drift_by_extract') }}
where
    drift_type = 'compared'
    and missing_in_warehouse + missing_in_source + mismatched_keys > 0
