{{ config(
    unique_key='invoice_id',
    pre_hook="{{ replay_pre_hook(key='invoice_id', staged=ref('stg_erp__invoices')) }}",
) }}

{{ latest_events_state(
    staged=ref('stg_erp__invoices'),
    key='invoice_id',
    columns=[
        'customer_id',
        'order_id',
        'invoice_status',
        'amount',
        'currency',
        'due_date',
    ],
) }}
