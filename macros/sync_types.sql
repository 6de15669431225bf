{#- Portable building blocks: types, safe casts and the UTC clock, dispatched where engines differ. -#}

{% macro sync_type(name) -%}
    {%- if name == 'string' -%}{{ dbt.type_string() }}
    {%- elif name == 'timestamp' -%}{{ dbt.type_timestamp() }}
    {%- elif name == 'money' -%}decimal(18, 2)
    {%- elif name == 'int' -%}{{ dbt.type_bigint() }}
    {%- elif name == 'date' -%}date
    {%- else -%}{{ exceptions.raise_compiler_error("sync_type: unknown type " ~ name) }}
    {%- endif -%}
{%- endmacro %}

{#- A cast that yields null instead of failing, so bad values can be quarantined. -#}
{% macro try_cast(field, type) -%}
    {{ return(adapter.dispatch('try_cast', 'syncgov')(field, type)) }}
{%- endmacro %}

{% macro default__try_cast(field, type) -%}
    {{ dbt.safe_cast(field, type) }}
{%- endmacro %}

{% macro duckdb__try_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{#- The warehouse clock as a UTC timestamp without time zone, on every engine. -#}
{% macro sync_now() -%}
    cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- The q-quantile of (later - earlier) in minutes, as an aggregate. -#}
{% macro percentile_minutes(later, earlier, q) -%}
    {{ return(adapter.dispatch('percentile_minutes', 'syncgov')(later, earlier, q)) }}
{%- endmacro %}

{% macro default__percentile_minutes(later, earlier, q) -%}
    {#- microseconds, as DuckDB's epoch() keeps them: datediff('second') counts whole-second
        boundaries, which moved Snowflake's quantiles up to a second from DuckDB's -#}
    percentile_cont({{ q }}) within group (order by {{ dbt.datediff(earlier, later, 'microsecond') }} / 60000000.0)
{%- endmacro %}

{% macro duckdb__percentile_minutes(later, earlier, q) -%}
    quantile_cont(epoch({{ later }} - {{ earlier }}) / 60.0, {{ q }})
{%- endmacro %}


{#-
    Snowflake's plain `timestamp` follows the session's TIMESTAMP_TYPE_MAPPING, which an account
    may set to LTZ or TZ. Sync timestamps are UTC wall-clock values without a zone on every
    engine, so the type is spelled out (this overrides dbt's own `type_timestamp` for Snowflake).
-#}
{% macro snowflake__type_timestamp() -%}
    timestamp_ntz
{%- endmacro %}
