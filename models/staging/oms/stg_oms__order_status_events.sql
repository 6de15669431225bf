{{ stage_events(
    source_name='oms',
    table_name='order_status_events',
    columns=[
        ['order_id', 'order_id', 'string'],
        ['order_status', 'order_status', 'string'],
        ['status_reason', 'status_reason', 'string'],
    ],
    enums={
        'order_status': ['placed', 'allocated', 'shipped', 'delivered', 'cancelled'],
    },
) }}
