{#-
    What the procurement portal mirrors for each live supplier (export
    procurement_supplier_risk): ERP master data next to the latest SRM risk score. A mirror:
    a supplier that leaves this model (deleted in the ERP) is deleted from the portal, so the
    export gate watches this model's row count closely.
-#}

with suppliers as (

    select
        supplier_id,
        supplier_name,
        country,
        risk_score,
        risk_tier,
        _applied_at
    from {{ ref('supplier_state') }}
    where not _is_deleted

),

final as (

    select
        supplier_id,
        supplier_name,
        country,
        risk_score,
        risk_tier,
        _applied_at as _changed_at
    from suppliers

)

select * from final
