"""The handoff desk: handoff records, ownership, priority and SLA; Slack and console adapters."""
