{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['landing_table', 'entity_key'],
    pre_hook="{{ syncgov.sync_conflicts_prune() }}",
) }}

{#-
    Every conflicting write: a valid event in which a system changes a field that another
    system owns (per the registry's field ownership), paired with the owner's value as of that
    moment (its latest event up to `sync_conflict_window_minutes` after the write). The domain's
    conflict policy decides: system_of_record (owner wins, auto_resolved), latest_timestamp (the
    newer write wins, auto_resolved), manual_review (owner's value kept, conflict open).

    Which staged columns are such writes is found at run time from the ownership seed and the
    staging relations' columns, so a new shared field needs no change here
    (`sync_conflict_streams`).

    Incremental runs recompute only the keys with an event staged on either side since the last
    run (`sync_conflict_touched_keys`): the pre-hook removes their rows, the model writes them
    again. `--full-refresh` gives the same rows (tests/e2e/test_incremental_controls.py).
-#}
-- depends_on: {{ ref('field_ownership') }}
{%- for t in sync_landing_tables() %}
-- depends_on: {{ ref('stg_' ~ t.system ~ '__' ~ t.entity) }}
{%- endfor %}
{%- set window = var('sync_conflict_window_minutes', 10) | int -%}
{%- set policies = ref('domain_policies') -%}
{%- set streams = syncgov.sync_conflict_streams() %}

with policies as (

    select
        domain,
        conflict_policy
    from {{ policies }}

),

writes as (
    {%- for s in streams %}
    {%- set w = s.writer %}
    {%- set o = s.owner %}

    select
        writer._event_id as conflict_id,
        '{{ w.domain }}' as domain,
        '{{ w.system }}__{{ w.entity }}' as landing_table,
        cast(writer.{{ w.key }} as {{ dbt.type_string() }}) as entity_key,
        '{{ s.field }}' as field,
        '{{ o.system }}' as owner_system,
        cast(owner_event.{{ s.field }} as {{ dbt.type_string() }}) as owner_value,
        owner_event._source_event_at as owner_event_at,
        '{{ w.system }}' as other_system,
        cast(writer.{{ s.field }} as {{ dbt.type_string() }}) as other_value,
        writer._source_event_at as other_event_at,
        writer._sync_batch_id as other_batch_id
    from {{ ref('stg_' ~ w.system ~ '__' ~ w.entity) }} as writer
    left join {{ ref('stg_' ~ o.system ~ '__' ~ o.entity) }} as owner_event
        on
            writer.{{ w.key }} = owner_event.{{ o.key }}
            and owner_event._quarantine_reason is null
            and owner_event._op = 'upsert'
            and owner_event._source_event_at
            <= {{ dbt.dateadd('minute', window, 'writer._source_event_at') }}
    where
        writer._quarantine_reason is null
        and writer._op = 'upsert'
        and writer.{{ s.field }} is not null
        and {{ syncgov.sync_conflict_in_scope(streams, w, 'writer') }}
    qualify
        row_number() over (
            partition by writer._event_id
            order by owner_event._source_event_at desc nulls last, owner_event._event_id desc
        ) = 1
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}
    {%- if not streams %}

    -- no field is written by a system other than its owner
    select
        cast(null as {{ dbt.type_string() }}) as conflict_id,
        cast(null as {{ dbt.type_string() }}) as domain,
        cast(null as {{ dbt.type_string() }}) as landing_table,
        cast(null as {{ dbt.type_string() }}) as entity_key,
        cast(null as {{ dbt.type_string() }}) as field,
        cast(null as {{ dbt.type_string() }}) as owner_system,
        cast(null as {{ dbt.type_string() }}) as owner_value,
        cast(null as {{ dbt.type_timestamp() }}) as owner_event_at,
        cast(null as {{ dbt.type_string() }}) as other_system,
        cast(null as {{ dbt.type_string() }}) as other_value,
        cast(null as {{ dbt.type_timestamp() }}) as other_event_at,
        cast(null as {{ dbt.type_string() }}) as other_batch_id
    where false
    {%- endif %}

),

final as (

    select
        writes.*,
        coalesce(policies.conflict_policy, 'system_of_record') as rule_applied,
        case
            when
                policies.conflict_policy = 'latest_timestamp'
                and (writes.owner_event_at is null or writes.other_event_at > writes.owner_event_at)
                then writes.other_system
            else writes.owner_system
        end as winner,
        case when policies.conflict_policy = 'manual_review' then 'open' else 'auto_resolved' end
            as status,
        {{ syncgov.sync_now() }} as detected_at
    from writes
    left join policies on writes.domain = policies.domain
    where writes.owner_value is null or writes.owner_value != writes.other_value

)

select * from final
