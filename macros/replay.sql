{#-
    Replay: `dbt build --select <staging models>+ --vars '{sync_replay_from: "<timestamp>"}'`
    re-processes everything loaded since that point (`syncgov replay` builds the command).
-#}

{#- The replay point as a SQL timestamp literal, or none outside a replay. -#}
{% macro replay_from() -%}
    {%- set value = var('sync_replay_from', none) -%}
    {%- if value -%}
        {{ return("cast('" ~ (value | string | replace("'", "")) ~ "' as " ~ dbt.type_timestamp() ~ ")") }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}


{#-
    Pre-hook for staging and state models: clear what the replay rebuilds. Staging drops the
    events loaded since the replay point; state drops every key that has such an event.
-#}
{% macro replay_pre_hook(key=none, staged=none) -%}
    {%- if not (is_incremental() and syncgov.replay_from()) -%}{{ return('') }}{%- endif -%}
    {%- if staged is none -%}
        delete from {{ this }} where _loaded_at >= {{ syncgov.replay_from() }}
    {%- else -%}
        delete from {{ this }} where {{ key }} in (
            select touched.{{ key }} from {{ staged }} as touched
            where touched._loaded_at >= {{ syncgov.replay_from() }}
        )
    {%- endif -%}
{%- endmacro %}
