{{ config(
    unique_key='customer_id',
    pre_hook="{{ replay_pre_hook(key='customer_id', staged=ref('stg_helpdesk__contacts')) }}",
) }}

{{ latest_events_state(
    staged=ref('stg_helpdesk__contacts'),
    key='customer_id',
    columns=[
        'phone',
        'preferred_channel',
    ],
) }}
