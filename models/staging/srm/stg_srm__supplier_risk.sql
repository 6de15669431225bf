{{ stage_events(
    source_name='srm',
    table_name='supplier_risk',
    columns=[
        ['supplier_id', 'supplier_id', 'string'],
        ['risk_score', 'risk_score', 'int'],
        ['risk_tier', 'risk_tier', 'string'],
    ],
    enums={
        'risk_tier': ['low', 'medium', 'high', 'critical'],
    },
) }}
