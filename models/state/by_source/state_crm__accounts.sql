{{ config(unique_key='customer_id') }}

{{ latest_events_state(
    staged=ref('stg_crm__accounts'),
    key='customer_id',
    columns=[
        'account_name',
        'email',
        'phone',
        'country',
        'segment',
    ],
) }}
