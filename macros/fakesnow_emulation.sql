{#-
    The fakesnow emulator (the `snowflake_emulated` CI target, docs/snowflake.md) runs
    Snowflake SQL on DuckDB and does not implement everything. The few constructs it lacks get
    an equivalent here that only that target uses; production Snowflake SQL never changes.
-#}

{#- True on the emulated CI target only; `--vars '{sync_fakesnow: false}'` compiles the
    production SQL there (the CI lane parses it). -#}
{% macro is_fakesnow() -%}
    {%- set forced = var('sync_fakesnow', none) -%}
    {%- if forced is none -%}
        {{ return(target.name == 'snowflake_emulated') }}
    {%- endif -%}
    {{ return(forced | string | lower == 'true') }}
{%- endmacro %}


{#- The first `digits` hex digits of `expr` as an integer, without to_number's 'XX…' format. -#}
{% macro emulated_hex_prefix_to_number(expr, digits) -%}
    (
    {%- for i in range(digits) %}
        (position(substr({{ expr }}, {{ i + 1 }}, 1), '0123456789abcdef') - 1) * {{ 16 ** (digits - 1 - i) }}
        {{- ' +' if not loop.last }}
    {%- endfor %}
    )
{%- endmacro %}


{#- Temporary relations. dbt-snowflake stages an incremental merge and the unit tests'
    fixtures in session `temporary` tables and views named database.schema.x;
    fakesnow hands that name to DuckDB, which allows temporary objects only in its `temp`
    catalog. On the emulator alone they are created as ordinary (transient) relations of the
    same name instead: dbt drops them after use as it does temporary ones, and the incremental
    logic that reads them runs unchanged. Every other target calls dbt-snowflake's macro. -#}
{% macro snowflake__create_table_temporary_sql(relation, compiled_code) -%}
    {%- if is_fakesnow() -%}
        {{ dbt.snowflake__create_table_transient_sql(relation, compiled_code) }}
    {%- else -%}
        {{ dbt.snowflake__create_table_temporary_sql(relation, compiled_code) }}
    {%- endif -%}
{%- endmacro %}


{% macro snowflake__create_view_as_with_temp_flag(relation, sql, is_temporary=False) -%}
    {{ dbt.snowflake__create_view_as_with_temp_flag(relation, sql, is_temporary and not is_fakesnow()) }}
{%- endmacro %}
