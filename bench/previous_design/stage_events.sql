{#-
    VENDORED, NOT LIVE CODE. The time-window `stage_events` macro of the design before issue 12,
    byte for byte from `git show d9589e1:macros/stage_events.sql` (d9589e1 is the parent of
    ce7c958, "Staging reads by batch, not by time"). bench/bench_staging.py copies the project
    into a temp dir, puts this file in place of macros/stage_events.sql, applies
    staging_config.yml beside it and removes stg__staged_batches, so the previous design is
    measured as it ran. Never edit this text except to re-vendor it from that commit.
-#}
{#-
    Stage one landing table: keep the first delivery of every event, cast the raw strings to
    their types, and flag invalid events with a reason code instead of dropping them.

    columns: list of [source column, staged name, type]; the first `key_count` are the key.
    enums: staged name -> accepted values. non_negative: staged names that must be >= 0.
    derived_key: [name, sql] adds a single-column key built from the staged key columns.

    Incremental: only events loaded since the newest staged load (minus the lookback) are read,
    and an event id already staged is never staged again, so a redelivery is a duplicate, not
    a second event. With `var('sync_replay_from')` set, every event loaded since then is
    deleted (pre-hook) and staged again under the current rules. Invalid events stay in this table with `_quarantine_reason` set; states
    read only the valid ones, `stg__quarantine` lists the others.
-#}
{% macro stage_events(source_name, table_name, columns, key_count=1, enums={}, non_negative=[], derived_key=none) %}
{%- set keys = columns[:key_count] -%}
{%- set payload = columns[key_count:] -%}
{%- set lookback = var('sync_lookback_minutes') | int -%}

with landed as (

    select
        {%- for col in columns %}
        {{ col[0] }},
        {%- endfor %}
        _event_id,
        _source_system,
        _op,
        _source_event_at,
        _loaded_at,
        _sync_batch_id
    from {{ source(source_name, table_name) }}
    {%- if is_incremental() and syncgov.replay_from() %}
    -- replay: everything loaded since the replay point is staged again (see replay_pre_hook)
    where _loaded_at >= {{ syncgov.replay_from() }}
    {%- elif is_incremental() %}
    where _loaded_at > (
        select {{ dbt.dateadd('minute', -lookback, "coalesce(max(_loaded_at), cast('1900-01-01' as " ~ dbt.type_timestamp() ~ "))") }}
        from {{ this }}
    )
    {%- endif %}

),

identified as (

    -- An event without an id still gets a stable identity, so it is quarantined, not lost.
    select
        *,
        {{ syncgov.sync_event_key(keys[0][0]) }} as _event_key
    from landed

),

first_delivery as (

    select *
    from identified
    qualify row_number() over (
        partition by _event_key
        order by _loaded_at, _sync_batch_id
    ) = 1

),

new_events as (

    select *
    from first_delivery
    {%- if is_incremental() %}
    where not exists (
        select 1
        from {{ this }} as staged
        where staged._event_id = first_delivery._event_key
    )
    {%- endif %}

),

typed as (

    select
        {%- for col in columns %}
        {{ col[0] }} as {{ col[0] }}__raw,
        {{ syncgov.try_cast(col[0], syncgov.sync_type(col[2])) }} as {{ col[1] }},
        {%- endfor %}
        _event_key as _event_id,
        _event_id is null as _missing_event_id,
        _source_system,
        _op as _op__raw,
        lower(_op) as _op,
        {{ syncgov.try_cast('_source_event_at', dbt.type_timestamp()) }} as _source_event_at,
        _source_event_at as _source_event_at_raw,
        _loaded_at,
        _sync_batch_id
    from new_events

),

{#- Every check once, in order: the first that fails names the reason and the evidence. -#}
{%- set checks = [["_missing_event_id", "'null_event_id'", "'_event_id is null'"]] -%}
{%- for col in keys -%}
    {%- do checks.append([col[1] ~ " is null", "'null_key'", "'" ~ col[1] ~ " is null'"]) -%}
{%- endfor -%}
{%- do checks.append(["_op is null or _op not in ('upsert', 'delete')", "'invalid_op'",
    "'_op = ' || coalesce(_op__raw, 'null')"]) -%}
{%- do checks.append(["_source_event_at is null", "'unparseable_timestamp'",
    "'_source_event_at = ' || coalesce(_source_event_at_raw, 'null')"]) -%}
{%- for col in payload if col[2] != 'string' -%}
    {%- do checks.append(["_op = 'upsert' and " ~ col[0] ~ "__raw is not null and " ~ col[1] ~ " is null",
        "'unparseable_" ~ ("timestamp" if col[2] in ("timestamp", "date") else "number") ~ "'",
        "'" ~ col[1] ~ " = ' || " ~ col[0] ~ "__raw"]) -%}
{%- endfor -%}
{%- for name, accepted in enums.items() -%}
    {%- do checks.append(["_op = 'upsert' and " ~ name ~ " is not null and " ~ name ~ " not in ('" ~ accepted | join("', '") ~ "')",
        "'invalid_enum'", "'" ~ name ~ " = ' || " ~ name]) -%}
{%- endfor -%}
{%- for name in non_negative -%}
    {%- do checks.append(["_op = 'upsert' and " ~ name ~ " < 0", "'negative_quantity'",
        "'" ~ name ~ " = ' || cast(" ~ name ~ " as " ~ dbt.type_string() ~ ")"]) -%}
{%- endfor %}

validated as (

    select
        *,
        case
            {%- for check in checks %}
            when {{ check[0] }} then {{ check[1] }}
            {%- endfor %}
        end as _quarantine_reason,
        case
            {%- for check in checks %}
            when {{ check[0] }} then {{ check[2] }}
            {%- endfor %}
        end as _quarantine_detail
    from typed

),

final as (

    select
        {%- if derived_key %}
        {{ derived_key[1] }} as {{ derived_key[0] }},
        {%- endif %}
        {%- for col in columns %}
        {{ col[1] }},
        {%- endfor %}
        _op,
        _event_id,
        _source_system,
        _source_event_at,
        _source_event_at_raw,
        _loaded_at,
        _sync_batch_id,
        _quarantine_reason,
        _quarantine_detail,
        {{ syncgov.sync_now() }} as _staged_at,
        '{{ invocation_id }}' as _dbt_invocation_id
    from validated

)

select * from final
{% endmacro %}
