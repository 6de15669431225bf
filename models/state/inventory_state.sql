{{ config(unique_key='inventory_id') }}

{{ combine_sources(
    key='inventory_id',
    domain='inventory',
    primary=ref('state_wms__inventory_movements'),
    primary_columns=[
        'sku',
        'site_id',
        'movement_type',
        'movement_qty',
        'quantity_on_hand',
    ],
) }}
