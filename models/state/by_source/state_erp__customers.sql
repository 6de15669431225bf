{{ config(unique_key='customer_id') }}

{{ latest_events_state(
    staged=ref('stg_erp__customers'),
    key='customer_id',
    columns=[
        'credit_status',
        'credit_limit',
        'payment_terms',
        'billing_country',
        'email',
    ],
) }}
