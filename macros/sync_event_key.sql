{#-
    The identity of a landed event: its `_event_id`, or for an event that arrived without one,
    a stable hash of where it landed, so it is quarantined (and accounted for) exactly once.
    Staging and the event dispositions must agree on it, hence one macro.
-#}
{% macro sync_event_key(key_column) -%}
    coalesce(
        _event_id,
        'missing-id:' || {{ dbt.hash(dbt.concat(["coalesce(_sync_batch_id, '')", "coalesce(" ~ key_column ~ ", '')", "coalesce(_source_event_at, '')"])) }}
    )
{%- endmacro %}


{#-
    An order-independent checksum term for one event id: the first 8 hex digits of its MD5 as
    an integer. Summed over a batch's distinct ids it equals the sender's ledger checksum.
-#}
{% macro event_id_checksum_term(column) -%}
    {{ return(adapter.dispatch('event_id_checksum_term', 'syncgov')(column)) }}
{%- endmacro %}

{% macro default__event_id_checksum_term(column) -%}
    to_number(left(md5({{ column }}), 8), 'XXXXXXXX')
{%- endmacro %}

{#- Snowflake reads the hex digits with to_number's hex format. The fakesnow emulator does not
    implement that format, so on the emulated CI target only, the same number is summed digit by
    digit (macros/fakesnow_emulation.sql). -#}
{% macro snowflake__event_id_checksum_term(column) -%}
    {%- if syncgov.is_fakesnow() -%}
        {{ syncgov.emulated_hex_prefix_to_number('md5(' ~ column ~ ')', 8) }}
    {%- else -%}
        to_number(left(md5({{ column }}), 8), 'XXXXXXXX')
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__event_id_checksum_term(column) -%}
    cast('0x' || left(md5({{ column }}), 8) as bigint)
{%- endmacro %}


{#- A hash of a row's compared columns (as strings; null spelled out so it differs from ''). -#}
{% macro row_fingerprint(columns, alias) -%}
    {%- set parts = [] -%}
    {%- for col in columns -%}
        {%- do parts.append("coalesce(" ~ alias ~ "." ~ col.name ~ ", '\\u2205')") -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) if parts else "''" }}
{%- endmacro %}


{#-
    A hash of what one delivery says: the landed key and payload columns the registry declares
    for the table (the catalogue's `columns`; every landed column besides the sync metadata
    for a table it does not list), sorted by lower-case name so neither declaration order nor
    the engine's identifier case matters, then the op and the raw event time, null spelled '∅'.
    Two deliveries of one event id with different hashes are a conflicting redelivery; a
    column the loader adds later changes no hash. While a declared column is missing from the
    landing table (schema drift), what a delivery said cannot be told any more: the hash is
    null, staging stages nothing from the table (stage_events) and the dispositions match the
    staged delivery by load time and batch alone.
-#}
{% macro payload_hash(landing_relation) -%}
    {%- set declared = syncgov.declared_landing_columns(landing_relation) -%}
    {%- set names = (declared | map('lower') | sort) if declared is not none
        else syncgov.landed_payload_columns(landing_relation) -%}
    {%- set found = syncgov.landing_columns(landing_relation) -%}
    {%- if found and names | reject('in', found) | list -%}
        {{ return('cast(null as ' ~ dbt.type_string() ~ ')') }}
    {%- endif -%}
    {%- set exprs = syncgov.landing_column_exprs(landing_relation, names) -%}
    {%- set parts = [] -%}
    {%- for col in names + ['_op', '_source_event_at'] -%}
        {%- do parts.append("coalesce(" ~ exprs.get(col, col) ~ ", '∅')") -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}


{#- The landed columns the catalogue declares for a landing relation, or none when it is not in
    the catalogue (matched on the relation's identifier, `<system>__<entity>`). -#}
{% macro declared_landing_columns(landing_relation) -%}
    {%- set name = landing_relation.identifier | lower -%}
    {%- for t in sync_landing_tables() -%}
        {%- if (t.system ~ '__' ~ t.entity) == name and t.columns is defined -%}
            {{ return(t.columns) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}


{#- The landing relation's columns: lower-case name -> dbt Column ({} at parse time). -#}
{% macro landing_columns(landing_relation) -%}
    {%- set found = {} -%}
    {%- if execute -%}
        {%- for col in adapter.get_columns_in_relation(landing_relation) -%}
            {%- do found.update({col.name | lower: col}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}


{#- How to read each of `names` from a landing relation as text: the column itself; a column
    landed with another type (a retyped column) cast to text; a declared column that is
    missing, null. At parse time every column reads as itself. -#}
{% macro landing_column_exprs(landing_relation, names) -%}
    {%- set found = syncgov.landing_columns(landing_relation) -%}
    {%- set exprs = {} -%}
    {%- for name in names -%}
        {%- set col = found.get(name | lower) -%}
        {%- if not found -%}
            {%- do exprs.update({name: name}) -%}
        {%- elif col is none -%}
            {%- do exprs.update({name: 'cast(null as ' ~ dbt.type_string() ~ ')'}) -%}
        {%- elif not col.is_string() -%}
            {%- do exprs.update({name: 'cast(' ~ name ~ ' as ' ~ dbt.type_string() ~ ')'}) -%}
        {%- else -%}
            {%- do exprs.update({name: name}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(exprs) }}
{%- endmacro %}


{#-
    Which delivery of an event is the canonical one: the first landed, then the lower batch
    id, then the lower payload hash, so neither arrival order nor physical row order decides.
    Staging, the batch progress and the dispositions must agree on it, hence one macro.
-#}
{% macro delivery_order(loaded_at='_loaded_at', batch_id='_sync_batch_id', payload_hash='_payload_hash') -%}
    {{ loaded_at }} asc nulls last, {{ batch_id }} asc nulls last, {{ payload_hash }} asc
{%- endmacro %}


{#- The landed columns of a landing relation that are not sync metadata, lower-case, sorted. -#}
{% macro landed_payload_columns(landing_relation) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set metadata = ['_event_id', '_source_system', '_op', '_source_event_at', '_loaded_at', '_sync_batch_id'] -%}
    {%- set names = [] -%}
    {%- for col in adapter.get_columns_in_relation(landing_relation) -%}
        {%- if col.name | lower not in metadata -%}{%- do names.append(col.name | lower) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(names | sort) }}
{%- endmacro %}
