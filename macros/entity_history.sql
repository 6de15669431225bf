{#-
    The SCD2 history of an entity state, built from what changed since the last run.

    One row per version: the state's columns, then `dbt_scd_id`, `dbt_updated_at`,
    `dbt_valid_from`, `dbt_valid_to` (9999-12-31 while current) and `dbt_is_deleted`
    ('True' on a version recording that the key left state) — the columns, values and ids of
    the dbt snapshot it replaces (strategy timestamp on `_applied_at`, hard_deletes
    new_record), so a history that was a snapshot continues in place.

    An incremental run reads the state rows whose `_applied_at` is newer than the newest one
    the history holds (state stamps `_applied_at` on every write, so nothing else changed),
    closes the current version of those keys where the new version begins, and inserts the new
    versions. A key whose state row vanished (state rebuilt without it) gets a deleted version
    from this run's clock: the only run-time values, as in dbt's snapshot. Finding those keys
    is an anti-join of the history's current live keys with the state's keys, key columns only
    (15 ms for 81k order keys at 1M events: cheaper than any count that could skip it).

    The first build takes every state row as the first version. A history cannot be rebuilt
    from current state, so `--full-refresh` keeps it (`full_refresh: false`, as dbt snapshots
    do); dropping the relation is the deliberate way to start again.
-#}
{% macro entity_history(state, key) %}
{%- set metadata = ['dbt_scd_id', 'dbt_updated_at', 'dbt_valid_from', 'dbt_valid_to', 'dbt_is_deleted'] -%}
{%- set current_end = "cast('9999-12-31 00:00:00' as " ~ dbt.type_timestamp() ~ ")" -%}
{%- set state_columns = [] -%}
{%- set columns = [] -%}
{%- set types = {} -%}
{%- set stored = [] -%}
{%- if execute -%}
{%- for col in adapter.get_columns_in_relation(state) -%}
{%- do state_columns.append(col.name | lower) -%}
{%- do columns.append(col.name | lower) -%}
{%- do types.update({col.name | lower: col.data_type}) -%}
{%- endfor -%}
{%- if is_incremental() -%}
{%- for col in adapter.get_columns_in_relation(this) -%}
{%- do stored.append(col.name | lower) -%}
{#- a column state no longer has stays, null in new versions -#}
{%- if col.name | lower not in columns and col.name | lower not in metadata -%}
{%- do columns.append(col.name | lower) -%}
{%- do types.update({col.name | lower: col.data_type}) -%}
{%- endif -%}
{%- endfor -%}
{%- endif -%}
{%- endif %}

with
{%- if is_incremental() %}

watermark as (

    select coalesce(max(_applied_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) as applied_at
    from {{ this }}

),

changed as (

    select *
    from {{ state }}
    where _applied_at > (select watermark.applied_at from watermark)

),

current_versions as (

    select *
    from {{ this }}
    where dbt_valid_to = {{ current_end }}

),

superseded as (

    -- the current version of a changed key ends where its new version begins
    select
        {%- for col in columns %}
        {{ syncgov.history_column('current_versions', stored, types, col) }} as {{ col }},
        {%- endfor %}
        current_versions.dbt_scd_id,
        current_versions.dbt_updated_at,
        current_versions.dbt_valid_from,
        changed._applied_at as dbt_valid_to,
        current_versions.dbt_is_deleted
    from current_versions
    inner join changed
        on current_versions.{{ key }} = changed.{{ key }}

),

vanished as (

    -- live current versions whose key state no longer holds
    select current_versions.*
    from current_versions
    left join {{ state }} as state_keys
        on current_versions.{{ key }} = state_keys.{{ key }}
    where
        current_versions.dbt_is_deleted = 'False'
        and state_keys.{{ key }} is null

),

closed_by_deletion as (

    select
        {%- for col in columns %}
        {{ syncgov.history_column('vanished', stored, types, col) }} as {{ col }},
        {%- endfor %}
        vanished.dbt_scd_id,
        vanished.dbt_updated_at,
        vanished.dbt_valid_from,
        {{ syncgov.sync_now() }} as dbt_valid_to,
        vanished.dbt_is_deleted
    from vanished

),

deleted_versions as (

    -- the key's last values, from this run on, marked deleted
    select
        {%- for col in columns %}
        {{ syncgov.history_column('vanished', stored, types, col) }} as {{ col }},
        {%- endfor %}
        {{ dbt.snapshot_hash_arguments(['vanished.dbt_scd_id', syncgov.sync_now()]) }} as dbt_scd_id,
        {{ syncgov.sync_now() }} as dbt_updated_at,
        {{ syncgov.sync_now() }} as dbt_valid_from,
        {{ current_end }} as dbt_valid_to,
        'True' as dbt_is_deleted
    from vanished

),
{%- else %}

changed as (

    select * from {{ state }}

),
{%- endif %}

new_versions as (

    select
        {%- for col in columns %}
        {{ syncgov.history_column('changed', state_columns, types, col) }} as {{ col }},
        {%- endfor %}
        {{ dbt.snapshot_hash_arguments(['changed.' ~ key, 'changed._applied_at']) }} as dbt_scd_id,
        changed._applied_at as dbt_updated_at,
        changed._applied_at as dbt_valid_from,
        {{ current_end }} as dbt_valid_to,
        'False' as dbt_is_deleted
    from changed

),

final as (

    select * from new_versions
    {%- if is_incremental() %}
    union all
    select * from superseded
    union all
    select * from closed_by_deletion
    union all
    select * from deleted_versions
    {%- endif %}

)

select * from final
{% endmacro %}


{#- A column of a version as `relation` holds it, or null where `held` lacks it. -#}
{% macro history_column(relation, held, types, column) -%}
    {%- if column in held -%}
        {{ relation }}.{{ column }}
    {%- else -%}
        cast(null as {{ types[column] }})
    {%- endif -%}
{%- endmacro %}
