{{ config(
    unique_key='supplier_id',
    pre_hook="{{ replay_pre_hook(key='supplier_id', staged=ref('stg_erp__suppliers')) }}",
) }}

{{ latest_events_state(
    staged=ref('stg_erp__suppliers'),
    key='supplier_id',
    columns=[
        'supplier_name',
        'country',
        'payment_terms',
    ],
) }}
