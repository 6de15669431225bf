{{ config(
    unique_key='sku',
    pre_hook="{{ replay_pre_hook(key='sku', staged=ref('stg_erp__products')) }}",
) }}

{{ latest_events_state(
    staged=ref('stg_erp__products'),
    key='sku',
    columns=[
        'list_price',
        'currency',
        'product_name',
    ],
) }}
