{{ stage_events(
    source_name='erp',
    table_name='customers',
    columns=[
        ['customer_id', 'customer_id', 'string'],
        ['credit_status', 'credit_status', 'string'],
        ['credit_limit', 'credit_limit', 'money'],
        ['payment_terms', 'payment_terms', 'string'],
        ['billing_country', 'billing_country', 'string'],
        ['email', 'email', 'string'],
    ],
    enums={
        'credit_status': ['good', 'on_hold', 'blocked'],
        'payment_terms': ['net_30', 'net_60', 'prepaid'],
    },
) }}
