"""The pull-request report: what changed, what the gate saw, what it decided (Markdown for one comment)."""
