"""Markers other parts find rollgate's texts by (standard library only: the job that posts the report
runs the base commit's code from source, with nothing installed)."""

from __future__ import annotations

REPORT = "<!-- rollgate-report -->"  # the PR workflow finds and updates its one sticky comment by this
