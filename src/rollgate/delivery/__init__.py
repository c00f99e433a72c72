"""Git-side delivery: release records, history of what ran where, and (later) render and promote."""
