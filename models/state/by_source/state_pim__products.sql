{{ config(unique_key='sku') }}

{{ latest_events_state(
    staged=ref('stg_pim__products'),
    key='sku',
    columns=[
        'product_name',
        'category',
        'lifecycle_status',
    ],
) }}
