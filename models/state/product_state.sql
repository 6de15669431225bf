{{ config(unique_key='sku') }}

{{ combine_sources(
    key='sku',
    primary=ref('state_pim__products'),
    secondary=ref('state_erp__products'),
    primary_columns=[
        'product_name',
        'category',
        'lifecycle_status',
    ],
    secondary_columns=[
        'list_price',
        'currency',
    ],
) }}
