{#-
    What the web shop's availability badge shows per live SKU (export
    storefront_product_availability): PIM attributes, the ERP list price and the stock on hand
    summed over every WMS site. A SKU without stock at any site shows 0. `_changed_at` is the
    later of the product's and its stock's last change in the warehouse, so a stock movement
    alone re-sends the SKU, and a site whose stock record was deleted counts as a change too.
-#}

with products as (

    select
        sku,
        product_name,
        category,
        lifecycle_status,
        list_price,
        currency,
        _applied_at
    from {{ ref('product_state') }}
    where not _is_deleted

),

inventory as (

    select
        sku,
        quantity_on_hand,
        _is_deleted,
        _applied_at
    from {{ ref('inventory_state') }}

),

stock_per_sku as (

    -- inventory_state holds one row per SKU and site
    select
        sku,
        sum(case when not _is_deleted then quantity_on_hand else 0 end) as quantity_on_hand,
        max(_applied_at) as stock_changed_at
    from inventory
    group by sku

),

final as (

    select
        products.sku,
        products.product_name,
        products.category,
        products.lifecycle_status,
        products.list_price,
        products.currency,
        cast(coalesce(stock_per_sku.quantity_on_hand, 0) as {{ dbt.type_bigint() }}) as quantity_on_hand,
        case
            when stock_per_sku.stock_changed_at > products._applied_at then stock_per_sku.stock_changed_at
            else products._applied_at
        end as _changed_at
    from products
    left join stock_per_sku
        on products.sku = stock_per_sku.sku

)

select * from final
