"""The only code that talks to outside tools: git, DVC and MLflow (tracking and the registry)."""
