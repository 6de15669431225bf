{{ config(materialized='view') }}

{#-
    Drift between each source's full extract and the warehouse state, as of the latest extract
    of each table that was compared (`sync_drift_by_extract`, which compares an extract when it
    arrives): one row per key missing on either side and one per field whose value differs.
-#}

select
    landing_table,
    domain,
    entity_key,
    drift_type,
    field,
    source_value,
    warehouse_value,
    extracted_at,
    compared_at
from {{ ref('sync_drift_by_extract') }}
where drift_type <> 'compared'
