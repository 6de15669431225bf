{{ config(
    unique_key='order_id',
    pre_hook="{{ replay_pre_hook(key='order_id', staged=ref('stg_oms__orders')) }}",
) }}

{{ latest_events_state(
    staged=ref('stg_oms__orders'),
    key='order_id',
    columns=[
        'customer_id',
        'order_status',
        'order_total',
        'currency',
        'ordered_at',
    ],
) }}
