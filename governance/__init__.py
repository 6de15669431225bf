"""syncgov: governance of operational data sync around a dbt warehouse."""
