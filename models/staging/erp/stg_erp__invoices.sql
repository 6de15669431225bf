{{ stage_events(
    source_name='erp',
    table_name='invoices',
    columns=[
        ['invoice_id', 'invoice_id', 'string'],
        ['customer_id', 'customer_id', 'string'],
        ['order_id', 'order_id', 'string'],
        ['invoice_status', 'invoice_status', 'string'],
        ['amount', 'amount', 'money'],
        ['currency', 'currency', 'string'],
        ['due_date', 'due_date', 'date'],
    ],
    enums={
        'invoice_status': ['open', 'paid', 'void'],
        'currency': ['EUR', 'USD', 'GBP'],
    },
) }}
