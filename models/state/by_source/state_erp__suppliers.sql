{{ config(unique_key='supplier_id') }}

{{ latest_events_state(
    staged=ref('stg_erp__suppliers'),
    key='supplier_id',
    columns=[
        'supplier_name',
        'country',
        'payment_terms',
    ],
) }}
