{{ config(
    unique_key='order_id',
    pre_hook="{{ replay_pre_hook(key='order_id', staged=ref('stg_oms__order_status_events')) }}",
) }}

{{ latest_events_state(
    staged=ref('stg_oms__order_status_events'),
    key='order_id',
    columns=[
        'order_status',
        'status_reason',
    ],
) }}
