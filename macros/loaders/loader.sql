{#-
    One entry point per landing table for generated code: the registry's
    `loader: {kind: …, <options>}` becomes `loader_landing(kind, …, options)` in the landing view
    and `loader_ledger(kind, …, options)` in the ledger view. The options are the adapter
    macro's keyword arguments (docs/loaders.md); an unknown kind or option is a compile error.
-#}

{% macro loader_options(kind, purpose) -%}
    {%- set events = {
        'debezium': ['shape', 'schemas_enable', 'event_id', 'value_column', 'topic_column',
                     'partition_column', 'offset_column', 'loaded_at_column'],
        'airbyte': ['table', 'cdc', 'cursor', 'cdc_position_column'],
        'fivetran': ['mode', 'event_at_column'],
        'dlt': ['loads', 'event_at_column', 'deleted_column'],
    } -%}
    {%- set ledger_only = {
        'debezium': ['data_collection', 'transactions'],
        'airbyte': [],
        'fivetran': [],
        'dlt': ['table_name', 'row_counts'],
    } -%}
    {%- if kind not in events -%}
        {{ exceptions.raise_compiler_error("loader kind must be one of " ~ events.keys() | list | join(', ') ~ ", got " ~ (kind | string)) }}
    {%- endif -%}
    {{ return(events[kind] + (ledger_only[kind] if purpose == 'ledger' else [])) }}
{%- endmacro %}


{#- Options meant for the ledger only are accepted (and ignored) by the landing view, so one
    options mapping serves both calls. -#}
{% macro loader_checked_options(kind, purpose, options) -%}
    {%- set accepted = syncgov.loader_options(kind, 'ledger') -%}
    {%- set used = syncgov.loader_options(kind, purpose) -%}
    {%- set picked = {} -%}
    {%- for name, value in (options or {}).items() -%}
        {%- if name not in accepted -%}
            {{ exceptions.raise_compiler_error("loader " ~ kind ~ ": unknown option " ~ name ~ " (known: " ~ accepted | join(', ') ~ ")") }}
        {%- endif -%}
        {%- if name in used -%}{%- do picked.update({name: value}) -%}{%- endif -%}
    {%- endfor -%}
    {%- if kind == 'dlt' and 'loads' not in picked -%}
        {{ exceptions.raise_compiler_error("loader dlt: option loads (the dataset's _dlt_loads) is required") }}
    {%- endif -%}
    {{ return(picked) }}
{%- endmacro %}


{% macro loader_landing(kind, relation, source_system, key, columns, options={}) %}
{%- set picked = syncgov.loader_checked_options(kind, 'events', options) -%}
{%- if kind == 'debezium' -%}{{ syncgov.debezium_events(relation, source_system, key, columns, **picked) }}
{%- elif kind == 'airbyte' -%}{{ syncgov.airbyte_events(relation, source_system, key, columns, **picked) }}
{%- elif kind == 'fivetran' -%}{{ syncgov.fivetran_events(relation, source_system, key, columns, **picked) }}
{%- else -%}{{ syncgov.dlt_events(relation, source_system, key, columns, **picked) }}
{%- endif -%}
{% endmacro %}


{% macro loader_ledger(kind, relation, source_system, landing_table, key, columns, options={}) %}
{%- set picked = syncgov.loader_checked_options(kind, 'ledger', options) -%}
{%- if kind == 'debezium' -%}{{ syncgov.debezium_ledger(relation, source_system, landing_table, key, columns, **picked) }}
{%- elif kind == 'airbyte' -%}{{ syncgov.airbyte_ledger(relation, source_system, landing_table, key, columns, **picked) }}
{%- elif kind == 'fivetran' -%}{{ syncgov.fivetran_ledger(relation, source_system, landing_table, key, columns, **picked) }}
{%- else -%}{{ syncgov.dlt_ledger(relation, source_system, landing_table, key, columns, **picked) }}
{%- endif -%}
{% endmacro %}
