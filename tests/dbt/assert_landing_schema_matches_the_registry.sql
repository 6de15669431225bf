{#- Every landing column as the registry declares it: a drifted column is a CI finding (warn),
    not a failed build — sync_health degrades the flow instead (sync_schema_drift). -#}
{{ config(severity='warn') }}

select
    drift_id,
    landing_table,
    column_name,
    change,
    accepted_type,
    found_type
from {{ ref('sync_schema_drift') }}
