{{ stage_events(
    source_name='helpdesk',
    table_name='contacts',
    columns=[
        ['customer_id', 'customer_id', 'string'],
        ['phone', 'phone', 'string'],
        ['preferred_channel', 'preferred_channel', 'string'],
    ],
    enums={
        'preferred_channel': ['email', 'phone', 'chat'],
    },
) }}
