{#-
    What the helpdesk receives for each live customer (export helpdesk_customers): identity
    and contact from CRM, segment, and the ERP credit status agents must see before promising
    anything. Tombstoned customers are not sent; the helpdesk keeps its own history of them.
    `_changed_at` is when the warehouse last changed the customer: reverse-ETL tools fetch only
    rows newer than their watermark.
-#}

with customers as (

    select
        customer_id,
        account_name,
        email,
        phone,
        segment,
        credit_status,
        _applied_at
    from {{ ref('customer_state') }}
    where not _is_deleted

),

final as (

    select
        customer_id,
        account_name,
        email,
        phone,
        segment,
        credit_status,
        _applied_at as _changed_at
    from customers

)

select * from final
