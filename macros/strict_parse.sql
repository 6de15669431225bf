{#-
    Strict parsing of the landing contract's raw strings. An engine's lenient cast turns
    '12.5' into 13, '0x10' into 16 and drops a timestamp's offset; here a value is parsed only
    when its whole text has the declared shape, and anything else is null, so staging
    quarantines it with the raw value as evidence instead of storing a different number.

    Timestamps: `YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]]` with an optional `Z`, `±HH`, `±HHMM` or
    `±HH:MM` offset, converted to UTC; a value without an offset is UTC (the landing contract).
    Zone names (`Europe/Berlin`) are not accepted: engines disagree on them.
-#}

{#- True when the whole of `expr` matches `pattern` (no partial matches, no trailing newline). -#}
{% macro full_match(expr, pattern) -%}
    {{ return(adapter.dispatch('full_match', 'syncgov')(expr, pattern)) }}
{%- endmacro %}

{#- Snowflake's regexp_like anchors the pattern at both ends. -#}
{% macro default__full_match(expr, pattern) -%}
    regexp_like({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__full_match(expr, pattern) -%}
    regexp_full_match({{ expr }}, '{{ pattern }}')
{%- endmacro %}


{#- The raw ISO 8601 string `expr` as a UTC timestamp, or null when it is not one. -#}
{% macro parse_utc_timestamp(expr) -%}
    {%- set body = '[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?' -%}
    {%- set offset = '(Z|[+-][0-9]{2}(:?[0-9]{2})?)' -%}
    {%- set wall = "replace(regexp_replace(" ~ expr ~ ", '" ~ offset ~ "$', ''), 'T', ' ')" -%}
    {%- set zone = "substr(" ~ expr ~ ", length(regexp_replace(" ~ expr ~ ", '" ~ offset ~ "$', '')) + 1)" -%}
    {%- set offset_minutes -%}
        case
            when {{ zone }} in ('', 'Z') then 0
            else
                (case when substr({{ zone }}, 1, 1) = '-' then -1 else 1 end)
                * (
                    cast(substr({{ zone }}, 2, 2) as {{ dbt.type_int() }}) * 60
                    + cast(coalesce(nullif(replace(substr({{ zone }}, 4), ':', ''), ''), '0') as {{ dbt.type_int() }})
                )
        end
    {%- endset -%}
    case
        when {{ syncgov.full_match(expr, body ~ offset ~ '?') }}
            then {{ dbt.dateadd('minute', '-(' ~ offset_minutes ~ ')', syncgov.try_cast(wall, dbt.type_timestamp())) }}
    end
{%- endmacro %}


{#- `expr` (a raw string) as the sync type `type_name`, strictly; null when it is not one. -#}
{% macro parse_value(expr, type_name) -%}
    {%- if type_name == 'string' -%}
        {{ expr }}
    {%- elif type_name == 'timestamp' -%}
        {{ syncgov.parse_utc_timestamp(expr) }}
    {%- elif type_name == 'int' -%}
        case when {{ syncgov.full_match(expr, '[+-]?[0-9]{1,18}') }}
            then {{ syncgov.try_cast(expr, syncgov.sync_type('int')) }} end
    {%- elif type_name == 'money' -%}
        case when {{ syncgov.full_match(expr, '[+-]?[0-9]{1,16}([.][0-9]{1,2})?') }}
            then {{ syncgov.try_cast(expr, syncgov.sync_type('money')) }} end
    {%- elif type_name == 'date' -%}
        case when {{ syncgov.full_match(expr, '[0-9]{4}-[0-9]{2}-[0-9]{2}') }}
            then {{ syncgov.try_cast(expr, 'date') }} end
    {%- else -%}
        {{ exceptions.raise_compiler_error("parse_value: unknown type " ~ type_name) }}
    {%- endif -%}
{%- endmacro %}
