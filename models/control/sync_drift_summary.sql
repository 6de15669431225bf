{#- Drift counts per domain and landing table: keys missing on either side, keys and fields that differ. -#}

with drift as (

    select * from {{ ref('sync_drift') }}

),

final as (

    select
        domain,
        landing_table,
        max(extracted_at) as extracted_at,
        count(distinct case when drift_type = 'missing_in_warehouse' then entity_key end)
            as missing_in_warehouse,
        count(distinct case when drift_type = 'missing_in_source' then entity_key end)
            as missing_in_source,
        count(distinct case when drift_type = 'value_mismatch' then entity_key end)
            as mismatched_keys,
        sum(case when drift_type = 'value_mismatch' then 1 else 0 end) as mismatched_fields
    from drift
    group by domain, landing_table

)

select * from final
