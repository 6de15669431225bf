{{ stage_events(
    source_name='oms',
    table_name='orders',
    columns=[
        ['order_id', 'order_id', 'string'],
        ['customer_id', 'customer_id', 'string'],
        ['order_status', 'order_status', 'string'],
        ['order_total', 'order_total', 'money'],
        ['currency', 'currency', 'string'],
        ['ordered_at', 'ordered_at', 'timestamp'],
    ],
    enums={
        'order_status': ['placed', 'allocated', 'shipped', 'delivered', 'cancelled'],
        'currency': ['EUR', 'USD', 'GBP'],
    },
) }}
