{#-
    Building blocks the loader adapters share (macros/loaders/*.sql): reading a JSON field,
    epoch and zone conversions, the ISO text the landing contract carries in `_source_event_at`,
    and the checks that turn a bad adapter argument into a clear compile error.
    See docs/loaders.md for what each adapter maps and why.
-#}

{#- Fail at compile time, naming the adapter and the argument, when `value` is not a plain SQL
    identifier: adapter arguments become column names in generated SQL, never free text. -#}
{% macro loader_identifier(adapter_name, argument, value) -%}
    {%- if value is not string or not modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_]*', value) -%}
        {{ exceptions.raise_compiler_error(adapter_name ~ ": " ~ argument ~ " must be a column name ([A-Za-z_][A-Za-z0-9_]*), got " ~ (value | string)) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}


{#- `values` as a non-empty list of identifiers (a single string is a one-element list). -#}
{% macro loader_identifiers(adapter_name, argument, values) -%}
    {%- set names = [values] if values is string else values -%}
    {%- if names is none or names is string or names | length == 0 -%}
        {{ exceptions.raise_compiler_error(adapter_name ~ ": " ~ argument ~ " must name at least one column") }}
    {%- endif -%}
    {%- for name in names -%}
        {%- do syncgov.loader_identifier(adapter_name, argument, name) -%}
    {%- endfor -%}
    {{ return(names | list) }}
{%- endmacro %}


{#- Fail unless `value` is one of `accepted`. -#}
{% macro loader_choice(adapter_name, argument, value, accepted) -%}
    {%- if value not in accepted -%}
        {{ exceptions.raise_compiler_error(adapter_name ~ ": " ~ argument ~ " must be one of " ~ accepted | join(', ') ~ ", got " ~ (value | string)) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}


{#- A JSON field as text (null when absent or JSON null); `path` is dot-separated keys. On
    Snowflake the column is a VARIANT (as the Kafka connector and Airbyte write it). -#}
{% macro loader_json_text(json_expr, path) -%}
    {{ return(adapter.dispatch('loader_json_text', 'syncgov')(json_expr, path)) }}
{%- endmacro %}

{% macro default__loader_json_text(json_expr, path) -%}
    cast(get_path({{ json_expr }}, '{{ path }}') as {{ dbt.type_string() }})
{%- endmacro %}

{% macro duckdb__loader_json_text(json_expr, path) -%}
    json_extract_string({{ json_expr }}, '$.{{ path }}')
{%- endmacro %}


{#- Epoch milliseconds / microseconds (text or number) as a UTC timestamp. -#}
{% macro loader_epoch_us(expr) -%}
    {{ return(adapter.dispatch('loader_epoch_us', 'syncgov')(expr)) }}
{%- endmacro %}

{% macro default__loader_epoch_us(expr) -%}
    to_timestamp_ntz(cast({{ expr }} as {{ dbt.type_bigint() }}), 6)
{%- endmacro %}

{% macro duckdb__loader_epoch_us(expr) -%}
    make_timestamp(cast({{ expr }} as {{ dbt.type_bigint() }}))
{%- endmacro %}


{#- A timestamp (with or without zone) as a UTC timestamp without zone. -#}
{% macro loader_utc(expr) -%}
    {{ return(adapter.dispatch('loader_utc', 'syncgov')(expr)) }}
{%- endmacro %}

{% macro default__loader_utc(expr) -%}
    cast(convert_timezone('UTC', cast({{ expr }} as timestamp_tz)) as timestamp_ntz)
{%- endmacro %}

{#- The profile pins DuckDB's TimeZone to UTC, so the cast reads a zoned value in UTC. -#}
{% macro duckdb__loader_utc(expr) -%}
    cast({{ expr }} as timestamp)
{%- endmacro %}


{#- A UTC timestamp as the ISO 8601 text `_source_event_at` carries (microseconds, `Z`). -#}
{% macro loader_iso(expr) -%}
    {{ return(adapter.dispatch('loader_iso', 'syncgov')(expr)) }}
{%- endmacro %}

{% macro default__loader_iso(expr) -%}
    to_varchar({{ expr }}, 'YYYY-MM-DD"T"HH24:MI:SS.FF6"Z"')
{%- endmacro %}

{% macro duckdb__loader_iso(expr) -%}
    strftime({{ expr }}, '%Y-%m-%dT%H:%M:%S.%fZ')
{%- endmacro %}


{#- A non-negative integer (text or number) zero-padded to 20 digits, so that event ids built
    from offsets and log positions sort as the numbers do (state breaks ties by event id). -#}
{% macro loader_padded(expr) -%}
    lpad(cast(cast({{ expr }} as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }}), 20, '0')
{%- endmacro %}


{#- `columns` (identifiers) of `alias` joined into one text value, nulls kept distinct. -#}
{% macro loader_key_text(columns, alias=none) -%}
    {%- set parts = [] -%}
    {%- for col in columns -%}
        {%- do parts.append("coalesce(cast(" ~ ((alias ~ '.') if alias else '') ~ col ~ " as " ~ dbt.type_string() ~ "), '∅')") -%}
    {%- endfor -%}
    {{ parts | join(" || '|' || ") }}
{%- endmacro %}


{#- The ledger columns every adapter's ledger macro returns, in the order of
    landing.sync_batches. -#}
{% macro loader_ledger_columns() -%}
    {{ return(['batch_id', 'source_system', 'landing_table', 'sequence_number', 'started_at',
               'finished_at', 'status', 'rows_sent', 'event_id_checksum']) }}
{%- endmacro %}


{#- A ledger row per landed batch from the landing view itself: what arrived, with no sender
    count (`rows_sent` null), so the reconciliation calls the batch `unverifiable`. -#}
{% macro loader_landed_batches(landing_sql, source_system, landing_table) -%}
    select
        _sync_batch_id as batch_id,
        '{{ source_system }}' as source_system,
        '{{ landing_table }}' as landing_table,
        cast(null as {{ dbt.type_bigint() }}) as sequence_number,
        min(_loaded_at) as started_at,
        max(_loaded_at) as finished_at,
        'success' as status,
        cast(null as {{ dbt.type_bigint() }}) as rows_sent,
        cast(null as {{ dbt.type_bigint() }}) as event_id_checksum
    from ({{ landing_sql }}) as landed
    where _sync_batch_id is not null
    group by _sync_batch_id
{%- endmacro %}
