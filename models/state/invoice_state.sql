{{ config(unique_key='invoice_id') }}

{{ combine_sources(
    key='invoice_id',
    domain='invoice',
    primary=ref('state_erp__invoices'),
    primary_columns=[
        'customer_id',
        'order_id',
        'invoice_status',
        'amount',
        'currency',
        'due_date',
    ],
) }}
