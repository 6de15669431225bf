{{ config(unique_key='supplier_id') }}

{{ combine_sources(
    key='supplier_id',
    domain='supplier',
    primary=ref('state_erp__suppliers'),
    primary_columns=[
        'supplier_name',
        'country',
        'payment_terms',
    ],
    secondaries=[
        {'relation': ref('state_srm__supplier_risk'), 'columns': ['risk_score', 'risk_tier']},
    ],
) }}
