"""The model server: verified loading, strict input, adaptive micro-batching, Prometheus metrics.

It imports the shared contracts and `rollgate.model.artifact` only, never the training stack, so it
runs from an install of `.[serve]` alone (checked by import-linter and by a clean-venv test).
"""
