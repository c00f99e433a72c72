"""The local rollout rehearsal: shadow → canary → full on one machine, judged by the rendered analysis."""
