{{ config(
    unique_key='sku',
    pre_hook="{{ replay_pre_hook(key='sku', staged=ref('stg_pim__products')) }}",
) }}

{{ latest_events_state(
    staged=ref('stg_pim__products'),
    key='sku',
    columns=[
        'product_name',
        'category',
        'lifecycle_status',
    ],
) }}
