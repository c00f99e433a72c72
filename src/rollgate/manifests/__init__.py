"""Rendering and checking the Kubernetes manifests: deploy configs, templates, lint, strict schemas."""
