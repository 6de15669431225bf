{{ stage_events(
    source_name='erp',
    table_name='products',
    columns=[
        ['sku', 'sku', 'string'],
        ['list_price', 'list_price', 'money'],
        ['currency', 'currency', 'string'],
        ['product_name', 'product_name', 'string'],
    ],
    enums={
        'currency': ['EUR', 'USD', 'GBP'],
    },
) }}
