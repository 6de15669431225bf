{#-
    on-run-end: one row for the invocation and one per node result, appended to
    audit.sync_audit_log with a single insert, so the audit trail costs one statement per run.
    Replay markers and other vars are recorded as given on the command line.
-#}
{% macro record_audit_log(results) %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set relation = api.Relation.create(database=target.database, schema='audit', identifier='sync_audit_log') -%}
    {%- do adapter.create_schema(api.Relation.create(database=target.database, schema='audit')) -%}
    {%- call statement('create_audit_log') -%}
        create table if not exists {{ relation }} (
            invocation_id {{ dbt.type_string() }},
            command {{ dbt.type_string() }},
            target_name {{ dbt.type_string() }},
            node_id {{ dbt.type_string() }},
            resource_type {{ dbt.type_string() }},
            status {{ dbt.type_string() }},
            rows_affected {{ dbt.type_bigint() }},
            execution_seconds {{ dbt.type_float() }},
            message {{ dbt.type_string() }},
            invocation_vars {{ dbt.type_string() }},
            git_sha {{ dbt.type_string() }},
            recorded_at {{ dbt.type_timestamp() }}
        )
    {%- endcall -%}
    {%- set command = flags.WHICH | string -%}
    {#- the test scope of `syncgov run` (macros/sync_delta_scope.sql) is recorded with the vars
        under the var names, so the export gate can tell a delta-scoped pass from a full one -#}
    {%- set given = dict(invocation_args_dict.get('vars', {})) -%}
    {%- do given.update(syncgov.sync_delta_scope()) -%}
    {%- set run_vars = tojson(given) -%}
    {%- set git_sha = env_var('SYNCGOV_GIT_SHA', env_var('GITHUB_SHA', '')) -%}
    {%- set failed = results | selectattr('status', 'in', ['error', 'fail', 'runtime error']) | list -%}
    {%- set rows = [[none, 'invocation', 'error' if failed else 'success', none, none,
        (results | length) ~ ' node results']] -%}
    {%- for res in results -%}
        {%- set response = res.adapter_response or {} -%}
        {%- do rows.append([res.node.unique_id, res.node.resource_type, res.status | string,
            response.get('rows_affected'), res.execution_time,
            (res.message | string)[:500] if res.message is not none else none]) -%}
    {%- endfor -%}
    {%- call statement('insert_audit_log') -%}
        insert into {{ relation }} values
        {%- for row in rows %}
        (
            '{{ invocation_id }}', '{{ command }}', '{{ target.name }}',
            {{ syncgov.sql_literal(row[0]) }}, {{ syncgov.sql_literal(row[1]) }},
            {{ syncgov.sql_literal(row[2]) }},
            {{ row[3] if row[3] is not none else 'null' }},
            {{ row[4] if row[4] is not none else 'null' }},
            {{ syncgov.sql_literal(row[5]) }}, {{ syncgov.sql_literal(run_vars) }},
            {{ syncgov.sql_literal(git_sha or none) }}, {{ syncgov.sync_now() }}
        ){{ ',' if not loop.last }}
        {%- endfor %}
    {%- endcall -%}
    {#- dbt opens a transaction for hook statements and leaves it open: close it here. -#}
    {%- do adapter.commit() -%}
    {{ return('') }}
{% endmacro %}


{% macro sql_literal(value) -%}
    {%- if value is none -%}null{%- else -%}'{{ value | string | replace("'", "''") }}'{%- endif -%}
{%- endmacro %}


{#-
    post-hook of state and export models: the moment a model's rows are replaced, one row in
    audit.sync_build_log says which invocation built them. It is written while the build is
    still running, so a `dbt build` killed after a model and before its tests leaves the proof
    that the rows are newer than any test evidence (the export gate then blocks).
-#}
{% macro build_log_relation() -%}
    {{- return(api.Relation.create(database=target.database, schema='audit', identifier='sync_build_log')) -}}
{%- endmacro %}


{% macro ensure_build_log() %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- do adapter.create_schema(api.Relation.create(database=target.database, schema='audit')) -%}
    {%- call statement('create_build_log') -%}
        create table if not exists {{ syncgov.build_log_relation() }} (
            invocation_id {{ dbt.type_string() }},
            node_id {{ dbt.type_string() }},
            built_at {{ dbt.type_timestamp() }}
        )
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {{ return('') }}
{% endmacro %}


{% macro record_build() -%}
    insert into {{ syncgov.build_log_relation() }} (invocation_id, node_id, built_at)
    values ('{{ invocation_id }}', '{{ model.unique_id }}', {{ syncgov.sync_now() }})
{%- endmacro %}
