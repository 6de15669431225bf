{{ stage_events(
    source_name='crm',
    table_name='accounts',
    columns=[
        ['account_id', 'customer_id', 'string'],
        ['account_name', 'account_name', 'string'],
        ['email', 'email', 'string'],
        ['phone', 'phone', 'string'],
        ['country', 'country', 'string'],
        ['segment', 'segment', 'string'],
    ],
    enums={
        'segment': ['enterprise', 'mid_market', 'smb'],
    },
) }}
