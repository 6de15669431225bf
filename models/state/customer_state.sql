{{ config(unique_key='customer_id') }}

{{ combine_sources(
    key='customer_id',
    domain='customer',
    primary=ref('state_crm__accounts'),
    primary_columns=[
        'account_name',
        'country',
        'segment',
    ],
    secondaries=[
        {'relation': ref('state_erp__customers'), 'columns': ['credit_status', 'credit_limit', 'payment_terms', 'billing_country']},
        {'relation': ref('state_helpdesk__contacts'), 'columns': ['preferred_channel']},
    ],
    shared_columns=['email', 'phone'],
) }}
