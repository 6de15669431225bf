{{ config(
    unique_key='inventory_id',
    pre_hook="{{ replay_pre_hook(key='inventory_id', staged=ref('stg_wms__inventory_movements')) }}",
) }}

{{ latest_events_state(
    staged=ref('stg_wms__inventory_movements'),
    key='inventory_id',
    identity_columns=[
        'sku',
        'site_id',
    ],
    columns=[
        'movement_type',
        'movement_qty',
        'quantity_on_hand',
    ],
) }}
