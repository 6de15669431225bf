{{ stage_events(
    source_name='pim',
    table_name='products',
    columns=[
        ['sku', 'sku', 'string'],
        ['product_name', 'product_name', 'string'],
        ['category', 'category', 'string'],
        ['lifecycle_status', 'lifecycle_status', 'string'],
    ],
    enums={
        'category': ['apparel', 'footwear', 'accessories', 'outdoor', 'electronics'],
        'lifecycle_status': ['draft', 'active', 'discontinued'],
    },
) }}
