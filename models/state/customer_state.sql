{{ config(unique_key='customer_id') }}

{{ combine_sources(
    key='customer_id',
    primary=ref('state_crm__accounts'),
    secondary=ref('state_erp__customers'),
    primary_columns=[
        'account_name',
        'phone',
        'country',
        'segment',
    ],
    domain='customer',
    shared_columns=['email'],
    secondary_columns=[
        'credit_status',
        'credit_limit',
        'payment_terms',
        'billing_country',
    ],
) }}
