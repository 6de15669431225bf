{{ stage_events(
    source_name='wms',
    table_name='inventory_movements',
    columns=[
        ['sku', 'sku', 'string'],
        ['site_id', 'site_id', 'string'],
        ['movement_type', 'movement_type', 'string'],
        ['movement_qty', 'movement_qty', 'int'],
        ['quantity_on_hand', 'quantity_on_hand', 'int'],
    ],
    key_count=2,
    enums={
        'movement_type': ['receipt', 'pick', 'adjustment', 'transfer'],
    },
    non_negative=['quantity_on_hand'],
    derived_key=['inventory_id', "sku || ':' || site_id"],
) }}
