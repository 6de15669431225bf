{{ config(
    unique_key='customer_id',
    pre_hook="{{ replay_pre_hook(key='customer_id', staged=ref('stg_erp__customers')) }}",
) }}

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
