{{ config(unique_key='sku') }}

{{ combine_sources(
    key='sku',
    domain='product',
    primary=ref('state_pim__products'),
    primary_columns=[
        'category',
        'lifecycle_status',
    ],
    secondaries=[
        {'relation': ref('state_erp__products'), 'columns': ['list_price', 'currency']},
    ],
    shared_columns=['product_name'],
) }}
