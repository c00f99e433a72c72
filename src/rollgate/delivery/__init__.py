"""Promotion and rollback on git: preconditions, the release record, the commit message, landing the
commit, and the preview of what merging would change."""
