{#-
    The streams `sync_conflicts` compares: per writer landing table and field that another
    system owns (field_ownership seed), the owner's landing table of the same domain. Found at
    run time from the seed and the staging relations' columns, so a new shared field needs no
    change. Shared by the model and its pre-hook, which must agree on the keys in scope.
-#}
{% macro sync_conflict_streams() %}
{%- set streams = [] -%}
{%- if not execute -%}{{ return(streams) }}{%- endif -%}
{%- set owners = {} -%}
{%- for row in run_query('select domain, field, owner_system from ' ~ ref('field_ownership')).rows -%}
{%- do owners.update({row[0] ~ '.' ~ row[1]: row[2]}) -%}
{%- endfor -%}
{%- set tables = sync_landing_tables() -%}
{%- for writer in tables -%}
{%- set staged = ref('stg_' ~ writer.system ~ '__' ~ writer.entity) -%}
{%- set columns = adapter.get_columns_in_relation(staged) | map(attribute='name') | map('lower') | list -%}
{%- for col in columns -%}
{%- set owner = owners.get(writer.domain ~ '.' ~ col) -%}
{%- if owner and owner != writer.system and col != writer.key -%}
{%- for source in tables if source.domain == writer.domain and source.system == owner -%}
{%- do streams.append({'writer': writer, 'owner': source, 'field': col}) -%}
{%- endfor -%}
{%- endif -%}
{%- endfor -%}
{%- endfor -%}
{{ return(streams) }}
{% endmacro %}


{#-
    The (writer landing table, key) pairs whose conflicts an incremental run recomputes: keys
    with an event staged, on the writer's or the owner's side, since the newest `detected_at`
    held (the last run that wrote rows). A conflict depends only on its key's staged events on
    both sides, so no other key's rows can change.
-#}
{% macro sync_conflict_touched_keys(streams) -%}
{%- set since -%}
(select coalesce(max(held.detected_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) from {{ this }} as held)
{%- endset -%}
{%- set parts = [] -%}
{%- for s in streams -%}
{%- set w = s.writer -%}
{%- set o = s.owner -%}
{%- do parts.append(
    "select '" ~ w.system ~ "__" ~ w.entity ~ "' as landing_table, cast(touched." ~ w.key ~ " as " ~ dbt.type_string() ~ ") as entity_key"
    ~ " from " ~ ref('stg_' ~ w.system ~ '__' ~ w.entity) ~ " as touched where touched._staged_at >= " ~ since
) -%}
{%- do parts.append(
    "select '" ~ w.system ~ "__" ~ w.entity ~ "' as landing_table, cast(touched." ~ o.key ~ " as " ~ dbt.type_string() ~ ") as entity_key"
    ~ " from " ~ ref('stg_' ~ o.system ~ '__' ~ o.entity) ~ " as touched where touched._staged_at >= " ~ since
) -%}
{%- endfor -%}
{%- if parts -%}
{{ parts | join('\n    union\n    ') }}
{%- else -%}
select cast(null as {{ dbt.type_string() }}) as landing_table, cast(null as {{ dbt.type_string() }}) as entity_key where false
{%- endif -%}
{%- endmacro %}


{#- Whether a write of `writer` (aliased `alias`) is in this run's scope: always on a full build. -#}
{% macro sync_conflict_in_scope(streams, writer, alias) -%}
{%- if not is_incremental() -%}
true
{%- else -%}
('{{ writer.system }}__{{ writer.entity }}', cast({{ alias }}.{{ writer.key }} as {{ dbt.type_string() }})) in (
    {{ syncgov.sync_conflict_touched_keys(streams) }}
)
{%- endif -%}
{%- endmacro %}


{#-
    Pre-hook of `sync_conflicts`: an incremental run first removes the rows of every key in
    scope, since a key's conflict can vanish (a late owner event that agrees with the write);
    delete+insert alone would only replace keys that still have a conflict.
-#}
{% macro sync_conflicts_prune() -%}
{%- if not is_incremental() -%}{{ return('') }}{%- endif -%}
delete from {{ this }} where (landing_table, entity_key) in (
    {{ syncgov.sync_conflict_touched_keys(syncgov.sync_conflict_streams()) }}
)
{%- endmacro %}
