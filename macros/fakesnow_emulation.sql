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
