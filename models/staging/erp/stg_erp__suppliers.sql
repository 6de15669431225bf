{{ stage_events(
    source_name='erp',
    table_name='suppliers',
    columns=[
        ['supplier_id', 'supplier_id', 'string'],
        ['supplier_name', 'supplier_name', 'string'],
        ['country', 'country', 'string'],
        ['payment_terms', 'payment_terms', 'string'],
    ],
    enums={
        'payment_terms': ['net_30', 'net_60', 'prepaid'],
    },
) }}
