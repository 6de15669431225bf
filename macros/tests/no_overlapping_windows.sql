{#-
    SCD2 integrity: for each key, validity windows [valid_from, valid_to) never overlap.
    Rows are ordered by valid_from; a row whose successor starts before it ends overlaps it.
-#}
{% test no_overlapping_windows(model, column_name, valid_from='dbt_valid_from', valid_to='dbt_valid_to') %}

with windows as (

    select
        {{ column_name }} as entity_key,
        {{ valid_from }} as valid_from,
        {{ valid_to }} as valid_to,
        lead({{ valid_from }}) over (
            partition by {{ column_name }}
            order by {{ valid_from }}
        ) as next_valid_from
    from {{ model }}

)

select *
from windows
where next_valid_from < coalesce(valid_to, cast('9999-12-31' as {{ dbt.type_timestamp() }}))
    or valid_to <= valid_from

{% endtest %}
