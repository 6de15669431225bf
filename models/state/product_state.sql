{{ config(unique_key='sku') }}

{{ combine_sources(
    key='sku',
    primary=ref('state_pim__products'),
    secondary=ref('state_erp__products'),
    primary_columns=[
        'category',
        'lifecycle_status',
    ],
    domain='product',
    shared_columns=['product_name'],
    secondary_columns=[
        'list_price',
        'currency',
    ],
) }}
