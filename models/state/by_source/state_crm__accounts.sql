{{ config(
    unique_key='customer_id',
    pre_hook="{{ replay_pre_hook(key='customer_id', staged=ref('stg_crm__accounts')) }}",
) }}

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
