{#-
    Stage one landing table: keep the canonical delivery of every event, parse the raw strings
    strictly into their types, and give every invalid event a reason code instead of dropping it.

    columns: list of [source column, staged name, type]; the first `key_count` are the key.
    enums: staged name -> accepted values. non_negative: staged names that must be >= 0.
    derived_key: [name, sql] adds a single-column key built from the staged key columns.

    What an incremental run reads is decided by batches, not by time. `stg__staged_batches`
    records, per landing batch, how many of its rows had reached staging when it last looked;
    a run reads every batch whose landed row count differs from that (new batches, batches
    that grew, batches with rows that never reached staging), whatever their `_loaded_at`.
    A batch committed days late, a re-sent batch or a loader with a skewed clock is therefore
    staged by the next run, and a bogus future `_loaded_at` cannot freeze the table. The probe
    is one count per batch; the rows read are those of the pending batches only.

    Of an event's deliveries the canonical one is the first by `delivery_order()` (load time,
    batch id, payload hash). An event already staged is staged again only when a delivery that
    precedes the staged one arrives (a late commit stamped earlier); the model's unique key
    `_event_id` makes that a replacement, so incremental runs converge to a full refresh.

    With `var('sync_replay_from')` set, every event loaded since then is deleted (pre-hook) and
    staged again under the current rules. Invalid events stay in this table with
    `_quarantine_reason` set; states read only the valid ones, `stg__quarantine` lists them.
-#}
{% macro stage_events(source_name, table_name, columns, key_count=1, enums={}, non_negative=[], derived_key=none) %}
{%- set keys = columns[:key_count] -%}
{%- set payload = columns[key_count:] -%}
{%- set landing_table = source_name ~ '__' ~ table_name -%}
{%- set tolerance = var('sync_future_tolerance_minutes') | int -%}
{%- set progress = syncgov.staged_batches_relation() -%}
{#- A declared column the landing table lacks (a removed column: sync_schema_drift) stages
    nothing from the table until it is back or the registry changes: its batches stay pending
    in stg__staged_batches, so no event is lost or staged without a field; a column landed as
    another type than text is read as text. -#}
{%- set landed_names = columns | map(attribute=0) | list -%}
{%- set exprs = syncgov.landing_column_exprs(source(source_name, table_name), landed_names) -%}
{%- set found = syncgov.landing_columns(source(source_name, table_name)) -%}
{%- set missing = [] -%}
{%- for name in landed_names if found and name | lower not in found -%}{%- do missing.append(name) -%}{%- endfor -%}
{{ config(unique_key='_event_id') }}

with clock as (

    select
        {{ syncgov.sync_now() }} as staged_at,
        {{ dbt.dateadd('minute', tolerance, syncgov.sync_now()) }} as future_limit

),
{%- if is_incremental() and not syncgov.replay_from() %}

landed_batches as (

    select
        coalesce(_sync_batch_id, '∅') as batch_key,
        count(*) as rows_landed,
        min(_loaded_at) as first_loaded_at
    from {{ source(source_name, table_name) }}
    group by coalesce(_sync_batch_id, '∅')

),

pending_batches as (

    -- batches some of whose rows have not been seen reaching staging
    select
        landed_batches.batch_key,
        landed_batches.first_loaded_at
    from landed_batches
    {%- if progress is not none %}
    left join {{ progress }} as progress
        on
            progress.landing_table = '{{ landing_table }}'
            and progress.batch_key = landed_batches.batch_key
    where
        progress.batch_key is null
        or progress.rows_staged <> landed_batches.rows_landed
    {%- endif %}

),
{%- endif %}

{%- if is_incremental() and not syncgov.replay_from() %}

pending_rows as (

    -- every row of a pending batch loaded no earlier than that batch's first row: a lower
    -- bound the scan can prune on (landing tables are appended in load order); rows without a
    -- load time separately, since `or _loaded_at is null` would defeat the pruning
    select *
    from {{ source(source_name, table_name) }}
    where _loaded_at >= (select min(pending_batches.first_loaded_at) from pending_batches)
    union all
    select *
    from {{ source(source_name, table_name) }}
    where _loaded_at is null

),
{%- endif %}

landed as (

    select
        {%- for col in columns %}
        {{ exprs[col[0]] }} as {{ col[0] }},
        {%- endfor %}
        _event_id,
        _source_system,
        _op,
        _source_event_at,
        _loaded_at,
        _sync_batch_id,
        -- an event without an id still gets a stable identity, so it is quarantined, not lost
        {{ syncgov.sync_event_key(keys[0][0]) }} as _event_key,
        {{ syncgov.payload_hash(source(source_name, table_name)) }} as _payload_hash
    {%- if is_incremental() and syncgov.replay_from() %}
    from {{ source(source_name, table_name) }}
    -- replay: everything loaded since the replay point is staged again (see replay_pre_hook)
    where _loaded_at >= {{ syncgov.replay_from() }}
    {%- elif is_incremental() %}
    from pending_rows
    where coalesce(_sync_batch_id, '∅') in (select pending_batches.batch_key from pending_batches)
    {%- else %}
    from {{ source(source_name, table_name) }}
    {%- endif %}

),

first_delivery as (

    select *
    from landed
    {%- if missing %}
    -- declared column(s) {{ missing | join(', ') }} missing from the landing table: stage nothing
    where 1 = 0
    {%- endif %}
    qualify row_number() over (
        partition by _event_key
        order by {{ syncgov.delivery_order() }}
    ) = 1

),

new_events as (

    select first_delivery.*
    from first_delivery
    {%- if is_incremental() %}
    left join {{ this }} as staged
        on first_delivery._event_key = staged._event_id
    where
        staged._event_id is null
        -- a delivery that precedes the staged one replaces it (unique key `_event_id`)
        or {{ syncgov.delivery_precedes('first_delivery', 'staged') }}
    {%- endif %}

),

typed as (

    select
        {%- for col in columns %}
        {{ col[0] }} as {{ col[0] }}__raw,
        {{ syncgov.parse_value(col[0], col[2]) }} as {{ col[1] }},
        {%- endfor %}
        _event_key as _event_id,
        _event_id is null as _missing_event_id,
        _source_system,
        _op as _op__raw,
        lower(_op) as _op,
        {{ syncgov.parse_utc_timestamp('_source_event_at') }} as _source_event_at,
        _source_event_at as _source_event_at_raw,
        _loaded_at,
        _sync_batch_id,
        _payload_hash
    from new_events

),

{#- Every check once, in order: the first that fails names the reason and the evidence. -#}
{%- set ts = dbt.type_string() -%}
{%- set checks = [
    ["_missing_event_id", "null_event_id", "'_event_id is null'"],
    ["_loaded_at is null", "null_loaded_at", "'_loaded_at is null'"],
    ["_sync_batch_id is null", "null_batch_id", "'_sync_batch_id is null'"],
    ["_source_system is null", "null_source_system", "'_source_system is null'"],
    ["lower(_source_system) <> '" ~ source_name ~ "'", "wrong_source_system",
        "'_source_system = ' || _source_system || ', expected " ~ source_name ~ "'"],
    ["_loaded_at > clock.future_limit", "future_loaded_at",
        "'_loaded_at = ' || cast(_loaded_at as " ~ ts ~ ") || ', after the build clock + " ~ tolerance ~ " min'"],
] -%}
{%- for col in keys -%}
    {%- do checks.append([col[1] ~ " is null", "null_key", "'" ~ col[1] ~ " is null'"]) -%}
{%- endfor -%}
{%- do checks.append(["_op is null or _op not in ('upsert', 'delete')", "invalid_op",
    "'_op = ' || coalesce(_op__raw, 'null')"]) -%}
{%- do checks.append(["_source_event_at is null", "unparseable_timestamp",
    "'_source_event_at = ' || coalesce(_source_event_at_raw, 'null')"]) -%}
{%- do checks.append(["_source_event_at > clock.future_limit", "future_event_at",
    "'_source_event_at = ' || _source_event_at_raw || ', after the build clock + " ~ tolerance ~ " min'"]) -%}
{%- for col in payload if col[2] != 'string' -%}
    {%- do checks.append(["_op = 'upsert' and " ~ col[0] ~ "__raw is not null and " ~ col[1] ~ " is null",
        "unparseable_" ~ ("timestamp" if col[2] in ("timestamp", "date") else "number"),
        "'" ~ col[1] ~ " = ' || " ~ col[0] ~ "__raw"]) -%}
{%- endfor -%}
{%- for name, accepted in enums.items() -%}
    {%- do checks.append(["_op = 'upsert' and " ~ name ~ " is not null and " ~ name ~ " not in ('" ~ accepted | join("', '") ~ "')",
        "invalid_enum", "'" ~ name ~ " = ' || " ~ name]) -%}
{%- endfor -%}
{%- for name in non_negative -%}
    {%- do checks.append(["_op = 'upsert' and " ~ name ~ " < 0", "negative_quantity",
        "'" ~ name ~ " = ' || cast(" ~ name ~ " as " ~ ts ~ ")"]) -%}
{%- endfor %}

validated as (

    select
        typed.*,
        clock.staged_at,
        case
            {%- for check in checks %}
            when {{ check[0] }} then '{{ check[1] }}'
            {%- endfor %}
        end as _quarantine_reason,
        case
            {%- for check in checks %}
            when {{ check[0] }} then {{ check[2] }}
            {%- endfor %}
        end as _quarantine_detail
    from typed
    cross join clock

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
        _payload_hash,
        _quarantine_reason,
        _quarantine_detail,
        staged_at as _staged_at,
        '{{ invocation_id }}' as _dbt_invocation_id
    from validated

)

select * from final
{% endmacro %}


{#- `stg__staged_batches` when it exists (it is built after the staging models), else none. -#}
{% macro staged_batches_relation() -%}
    {%- if execute and is_incremental() -%}
        {{ return(adapter.get_relation(database=this.database, schema=this.schema, identifier='stg__staged_batches')) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}


{#- Whether delivery `a` precedes delivery `b` in `delivery_order()` (nulls last). -#}
{% macro delivery_precedes(a, b) -%}
    (
        ({{ a }}._loaded_at is not null and ({{ b }}._loaded_at is null or {{ a }}._loaded_at < {{ b }}._loaded_at))
        or (
            {{ a }}._loaded_at is not distinct from {{ b }}._loaded_at
            and (
                ({{ a }}._sync_batch_id is not null and ({{ b }}._sync_batch_id is null or {{ a }}._sync_batch_id < {{ b }}._sync_batch_id))
                or (
                    {{ a }}._sync_batch_id is not distinct from {{ b }}._sync_batch_id
                    and {{ a }}._payload_hash < {{ b }}._payload_hash
                )
            )
        )
    )
{%- endmacro %}
