{{ config(unique_key='order_id') }}

{{ combine_sources(
    key='order_id',
    domain='order',
    primary=ref('state_oms__orders'),
    primary_columns=[
        'customer_id',
        'order_total',
        'currency',
        'ordered_at',
    ],
    secondaries=[
        {'relation': ref('state_oms__order_status'), 'columns': ['status_reason']},
    ],
    newer_columns=['order_status'],
) }}
