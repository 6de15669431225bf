{{ config(unique_key='inventory_id') }}

{{ latest_events_state(
    staged=ref('stg_wms__inventory_movements'),
    key='inventory_id',
    columns=[
        'sku',
        'site_id',
        'movement_type',
        'movement_qty',
        'quantity_on_hand',
    ],
) }}
