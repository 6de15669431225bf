{{ config(materialized='view') }}

{#- Every invalid event from every landing table, with the rule it broke and the evidence. -#}
{%- set staged = [
    ('crm', 'accounts', 'customer_id'),
    ('erp', 'customers', 'customer_id'),
    ('erp', 'products', 'sku'),
    ('erp', 'suppliers', 'supplier_id'),
    ('erp', 'invoices', 'invoice_id'),
    ('pim', 'products', 'sku'),
    ('wms', 'inventory_movements', 'inventory_id'),
    ('oms', 'orders', 'order_id'),
    ('oms', 'order_status_events', 'order_id'),
    ('srm', 'supplier_risk', 'supplier_id'),
] -%}

with quarantined as (
    {%- for system, entity, key in staged %}

    select
        '{{ system }}__{{ entity }}' as landing_table,
        _event_id,
        _source_system,
        _sync_batch_id,
        _loaded_at,
        _source_event_at_raw,
        cast({{ key }} as {{ dbt.type_string() }}) as entity_key,
        _quarantine_reason,
        _quarantine_detail
    from {{ ref('stg_' ~ system ~ '__' ~ entity) }}
    where _quarantine_reason is not null
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

)

select * from quarantined
