"""Reverse-ETL exports: gate each declared export, describe it in a manifest, render it for
the tools that deliver it (drt, Census), and record every verdict.

Modules, one concept each: `spec` (what the registry declares), `artifacts` (dbt's manifest,
run results and freshness), `evidence` (control tables and export models), `gates` (the
checks and the verdict), `batch` (watermarks and idempotency), `manifest` (the published
format), `renderers` (drt, Census), `audit_log` (audit.sync_export_log) and `publish` (the
whole `syncgov export` run).
"""
