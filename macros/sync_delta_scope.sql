{#-
    Tests by cost (issue 18): a test whose `where` config holds a scope marker reads only the
    delta when the invocation passes `sync_delta_since` (the every-cycle set of `syncgov run`),
    and its whole table otherwise — so a plain `dbt build` or `dbt test` stays a full check.

      where: "sync_delta(_applied_at)"            rows changed since the point
      where: "sync_touched(customer_id, _applied_at)"
                                                  every row of a key that has a row changed
                                                  since the point: a uniqueness test then still
                                                  sees an old row next to the new one
      where: "not _is_deleted and sync_delta(_applied_at)"   markers combine with SQL

    dbt renders a test's `where` without project macros, so the markers are plain text in the
    YAML and are replaced here, where dbt builds the relation a generic test reads
    (`get_where_subquery`, dbt's documented hook for templated filters). The var is read at
    execution, never at parse time: the parsed manifest stays the same from cycle to cycle.
    A test that cannot be scoped this way carries `tags: [full_table]` instead and runs on the
    nightly schedule (governance/schedule.py).
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {#- at parse time nothing is read: the environment must not become a parse input -#}
    {%- if execute and where and ('sync_delta(' in where or 'sync_touched(' in where) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ syncgov.sync_delta_predicate(where, relation) }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- endif -%}
    {%- do return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) -%}
{%- endmacro %}


{#- The scope a cycle gives (governance/operate/delta_scope.py): `--vars` for a hand-run
    `dbt build --vars '{sync_delta_since: ...}'`, else the environment `syncgov run` sets (a var
    that changes every cycle would make dbt re-parse the project every cycle). -#}
{% macro sync_delta_scope() -%}
    {%- set scope = {} -%}
    {%- for name, env in [('sync_delta_since', 'SYNCGOV_DELTA_SINCE'),
                          ('sync_delta_started_at', 'SYNCGOV_DELTA_STARTED_AT'),
                          ('sync_delta_jobs', 'SYNCGOV_DELTA_JOBS')] -%}
        {%- set value = var(name, none) -%}
        {%- if value is none or (value | string | trim) == '' -%}
            {%- set value = env_var(env, '') -%}
        {%- endif -%}
        {%- if value is not none and (value | string | trim) != '' -%}
            {%- do scope.update({name: value | string}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(scope) -}}
{%- endmacro %}


{#- The moment the delta starts, as a SQL timestamp literal; none for a full check. -#}
{% macro sync_delta_since() -%}
    {%- set since = syncgov.sync_delta_scope().get('sync_delta_since') -%}
    {%- if since is none or (since | string | trim) == '' -%}{{ return(none) }}{%- endif -%}
    {{- return("cast('" ~ (since | string | replace("'", "")) ~ "' as " ~ dbt.type_timestamp() ~ ")") -}}
{%- endmacro %}


{#- Replace every scope marker of `where` by its predicate over `relation`. -#}
{% macro sync_delta_predicate(where, relation) -%}
    {%- set since = syncgov.sync_delta_since() -%}
    {%- set ns = namespace(sql=where) -%}
    {%- for marker in ['sync_delta(', 'sync_touched('] -%}
        {%- for _ in range(20) if marker in ns.sql -%}
            {%- set head, rest = ns.sql.split(marker, 1) -%}
            {%- set inner, tail = rest.split(')', 1) -%}
            {%- set args = inner.split(',') | map('trim') | list -%}
            {%- if since is none -%}
                {%- set predicate = '(1 = 1)' -%}
            {%- elif marker == 'sync_delta(' -%}
                {%- set predicate = '(' ~ args[0] ~ ' >= ' ~ since ~ ')' -%}
            {%- else -%}
                {%- set predicate = '(' ~ args[0] ~ ' in (select touched.' ~ args[0] ~ ' from '
                    ~ relation ~ ' as touched where touched.' ~ args[1] ~ ' >= ' ~ since ~ '))' -%}
            {%- endif -%}
            {%- set ns.sql = head ~ predicate ~ tail -%}
        {%- endfor -%}
    {%- endfor -%}
    {{- return(ns.sql) -}}
{%- endmacro %}
