{#-
    The landing tables whose extract `sync_drift_by_extract` must compare in this run: all of
    them on a full build, a full refresh or a replay (which rewrites state); otherwise those
    whose extract is new since the comparison held here: another latest `_extracted_at`, another
    row count, or no comparison held at all (a new table). The probe is one aggregate per
    extract and one read of the marker rows, run while dbt executes the model (at parse time
    nothing is read, and every table is listed so the model's dependencies stay complete).
-#}
{% macro drift_tables_due(tables) -%}
    {%- if not execute or not is_incremental() or syncgov.replay_from() or not tables -%}
        {{- return(tables) -}}
    {%- endif -%}
    {%- set probe -%}
        with current_extract as (
        {%- for t in tables %}
            select
                '{{ t.system }}__{{ t.entity }}' as landing_table,
                max(_extracted_at) as extracted_at,
                count(*) as extract_rows
            from {{ source(t.system, t.entity ~ '_extract') }}
            {%- if not loop.last %}
            union all
            {%- endif %}
        {%- endfor %}
        ),

        compared as (
            select landing_table, extracted_at, extract_rows
            from {{ this }}
            where drift_type = 'compared'
        )

        select current_extract.landing_table
        from current_extract
        left join compared
            on current_extract.landing_table = compared.landing_table
        where
            compared.landing_table is null
            or compared.extracted_at is distinct from current_extract.extracted_at
            or compared.extract_rows is distinct from current_extract.extract_rows
    {%- endset -%}
    {%- set due = run_query(probe).columns[0].values() | list -%}
    {%- set chosen = [] -%}
    {%- for t in tables if (t.system ~ '__' ~ t.entity) in due -%}
        {%- do chosen.append(t) -%}
    {%- endfor -%}
    {{- return(chosen) -}}
{%- endmacro %}
