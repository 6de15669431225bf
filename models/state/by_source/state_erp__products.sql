{{ config(unique_key='sku') }}

{{ latest_events_state(
    staged=ref('stg_erp__products'),
    key='sku',
    columns=[
        'list_price',
        'currency',
        'product_name',
    ],
) }}
