{#-
    An entity assembled from its per-source states, field by field from the system that owns
    each field. The primary source is the entity's system of record: its tombstone deletes the
    entity. A secondary source is optional.

    newer_columns exist in both sources; the value of the newer event wins.
    shared_columns are written by both systems: the owner's value (field_ownership seed) wins,
    unless the domain's conflict policy is latest_timestamp, where the newer non-null value
    wins. Every such write is recorded in sync_conflicts.

    Approved manual corrections (seed manual_corrections) come last and take precedence over
    everything; `_corrections` lists the ids applied to the row.

    The row's sync metadata is that of the newest event that contributed to it. Incremental
    runs rebuild only keys that a source changed since this model last ran, and keys whose set
    of effective corrections differs from the one applied.
-#}
{% macro combine_sources(key, primary, primary_columns, domain, secondaries=[], newer_columns=[], shared_columns=[]) %}
{#- secondaries: list of {'relation': ref(...), 'columns': [fields only it provides]} -#}
{%- set sources = [primary] + secondaries | map(attribute='relation') | list -%}
{%- set aliases = ['source_0'] -%}
{%- for s in secondaries -%}{%- do aliases.append('source_' ~ loop.index) -%}{%- endfor -%}
{%- set secondary_columns = [] -%}
{%- for s in secondaries -%}{%- for c in s.columns -%}{%- do secondary_columns.append(c) -%}{%- endfor -%}{%- endfor -%}
{%- set value_columns = primary_columns + secondary_columns + newer_columns + shared_columns -%}
{%- set types = {} -%}
{%- set carriers = {} -%}
{%- if execute -%}
{%- for relation in sources -%}
{%- set alias = aliases[loop.index0] -%}
{%- for col in adapter.get_columns_in_relation(relation) -%}
{%- do types.update({col.name | lower: col.data_type}) -%}
{%- do carriers.setdefault(col.name | lower, []).append(alias) -%}
{%- endfor -%}
{%- endfor -%}
{%- endif %}

with

effective_corrections as (

    select
        entity_key,
        field,
        value,
        correction_id
    from {{ ref('manual_corrections') }}
    where
        entity = '{{ domain }}'
        and cast(effective_at as {{ dbt.type_timestamp() }}) <= {{ syncgov.sync_now() }}
    -- the latest approved correction of a field wins
    qualify row_number() over (
        partition by entity_key, field
        order by cast(effective_at as {{ dbt.type_timestamp() }}) desc, correction_id desc
    ) = 1

),

corrections as (

    select
        entity_key,
        {%- for col in value_columns %}
        max(case when field = '{{ col }}' then value end) as {{ col }}__corrected,
        {%- endfor %}
        {{ dbt.listagg('correction_id', "','", "order by correction_id") }} as correction_ids
    from effective_corrections
    group by entity_key

),
{%- if is_incremental() %}

changed_keys as (

    {%- for src in sources %}
    select {{ key }}
    from {{ src }}
    where _applied_at > (
        select coalesce(max(_applied_at), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
        from {{ this }}
    )
    union
    {%- endfor %}
    -- corrections added, changed or withdrawn since the row was built
    select coalesce(corrections.entity_key, current_rows.{{ key }}) as {{ key }}
    from corrections
    full outer join {{ this }} as current_rows
        on corrections.entity_key = current_rows.{{ key }}
    where coalesce(corrections.correction_ids, '') != coalesce(current_rows._corrections, '')
    {%- if syncgov.replay_from() %}
    union
    -- replay: keys whose sources may have dropped them altogether
    select {{ key }} from {{ this }} where _loaded_at >= {{ syncgov.replay_from() }}
    {%- endif %}

),
{%- endif %}
{%- if shared_columns %}

field_rules as (

    select
        max(policies.conflict_policy) as conflict_policy,
        {%- for col in shared_columns %}
        max(case when ownership.field = '{{ col }}' then ownership.owner_system end) as {{ col }}__owner
        {{- ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('domain_policies') }} as policies
    left join {{ ref('field_ownership') }} as ownership
        on policies.domain = ownership.domain
    where policies.domain = '{{ domain }}'

),
{%- endif %}

{%- for relation in sources %}

{{ aliases[loop.index0] }} as (

    select * from {{ relation }}
    {%- if is_incremental() %}
    where {{ key }} in (select changed_keys.{{ key }} from changed_keys)
    {%- endif %}

),
{%- endfor %}

assembled as (

    select
        coalesce({% for a in aliases %}{{ a }}.{{ key }}{{ ', ' if not loop.last }}{% endfor %}) as {{ key }},
        {%- for col in primary_columns %}
        source_0.{{ col }},
        {%- endfor %}
        {%- for s in secondaries %}
        {%- set alias = aliases[loop.index] %}
        {%- for col in s.columns %}
        {{ alias }}.{{ col }},
        {%- endfor %}
        {%- endfor %}
        {%- for col in newer_columns %}
        {{ syncgov.newest_value(carriers.get(col, ['source_0']), col) }} as {{ col }},
        {%- endfor %}
        {%- for col in shared_columns %}
        {%- set carrying = carriers.get(col, ['source_0']) %}
        case
            when field_rules.conflict_policy = 'latest_timestamp'
                then {{ syncgov.newest_value(carrying, col, non_null=true) }}
            {%- for a in carrying %}
            when field_rules.{{ col }}__owner = {{ a }}._source_system then {{ a }}.{{ col }}
            {%- endfor %}
            else source_0.{{ col }}
        end as {{ col }},
        {%- endfor %}
        coalesce(source_0._is_deleted, false) as _is_deleted,
        {%- for col in ['_event_id', '_source_system', '_source_event_at', '_loaded_at', '_sync_batch_id'] %}
        {{ syncgov.newest_value(aliases, col) }} as {{ col }}{{ ',' if not loop.last }}
        {%- endfor %}
    from source_0
    {%- for a in aliases[1:] %}
    full outer join {{ a }}
        on coalesce({% for b in aliases[:loop.index] %}{{ b }}.{{ key }}{{ ', ' if not loop.last }}{% endfor %}) = {{ a }}.{{ key }}
    {%- endfor %}
    {%- if shared_columns %}
    cross join field_rules
    {%- endif %}

),

final as (

    select
        assembled.{{ key }},
        {%- for col in value_columns %}
        coalesce(
            {{ syncgov.try_cast('corrections.' ~ col ~ '__corrected', types.get(col, dbt.type_string())) }},
            assembled.{{ col }}
        ) as {{ col }},
        {%- endfor %}
        assembled._is_deleted,
        assembled._event_id,
        assembled._source_system,
        assembled._source_event_at,
        assembled._loaded_at,
        assembled._sync_batch_id,
        corrections.correction_ids as _corrections,
        {{ syncgov.sync_now() }} as _applied_at,
        '{{ invocation_id }}' as _dbt_invocation_id
    from assembled
    left join corrections
        on cast(assembled.{{ key }} as {{ dbt.type_string() }}) = corrections.entity_key

)

select * from final
{% endmacro %}


{#-
    The value of `column` from whichever source holds the newest event for the key (with
    non_null, the newest source whose value is not null). Ties go to the earlier source, so
    the system of record wins them.
-#}
{% macro newest_value(aliases, column, non_null=false) -%}
    {%- if aliases | length == 1 -%}
        {{ aliases[0] }}.{{ column }}
    {%- else -%}
    case
        {%- for a in aliases %}
        when
            {%- if non_null %} {{ a }}.{{ column }} is not null and{% endif %} {{ a }}._source_event_at is not null
            {%- for b in aliases if b != a %}
            and (
                {%- if non_null %}{{ b }}.{{ column }} is null or {% endif -%}
                {{ b }}._source_event_at is null
                or {{ a }}._source_event_at {{ '>=' if aliases.index(b) > aliases.index(a) else '>' }} {{ b }}._source_event_at
            )
            {%- endfor %}
            then {{ a }}.{{ column }}
        {%- endfor %}
    end
    {%- endif -%}
{%- endmacro %}
