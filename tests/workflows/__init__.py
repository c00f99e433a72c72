"""The workflow and composite-action rules (rules.py) and their tests."""
