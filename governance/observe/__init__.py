"""Observing sync health from outside the warehouse: alert rules and routing generated from
the registry (`alerts`), the metrics endpoint (`metrics_server`) and OpenLineage run events
(`lineage`)."""
