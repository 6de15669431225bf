{{ config(unique_key='supplier_id') }}

{{ latest_events_state(
    staged=ref('stg_srm__supplier_risk'),
    key='supplier_id',
    columns=[
        'risk_score',
        'risk_tier',
    ],
) }}
