{#-
    sync_drift_by_extract holds exactly one comparison marker per landing table with an
    extract: none would make every run compare that extract again (or, for a table the probe
    skips, hide that it was never compared); two would make the probe ambiguous.
-#}
{%- set extracted = sync_landing_tables() | selectattr('extract', 'undefined') | list %}

with expected as (
    {%- for t in extracted %}
    select '{{ t.system }}__{{ t.entity }}' as landing_table
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

markers as (
    select
        landing_table,
        count(*) as comparisons
    from {{ ref('sync_drift_by_extract') }}
    where drift_type = 'compared'
    group by landing_table
)

select
    coalesce(expected.landing_table, markers.landing_table) as landing_table,
    coalesce(markers.comparisons, 0) as comparisons
from expected
full outer join markers on expected.landing_table = markers.landing_table
where coalesce(markers.comparisons, 0) <> 1 or expected.landing_table is null
