{{ config(
    unique_key='supplier_id',
    pre_hook="{{ replay_pre_hook(key='supplier_id', staged=ref('stg_srm__supplier_risk')) }}",
) }}

{{ latest_events_state(
    staged=ref('stg_srm__supplier_risk'),
    key='supplier_id',
    columns=[
        'risk_score',
        'risk_tier',
    ],
) }}
