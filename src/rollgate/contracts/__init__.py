"""Formats every part of rollgate shares. Imports nothing else of rollgate.

Each file format has a dataclass (or constants) here plus a JSON Schema under `schemas/`, and every
reader and writer goes through these modules, so a field is named in exactly one place.
"""
