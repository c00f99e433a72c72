"""The stages' report files that other parts read: the validation summary and report, the evaluation.

Readers check each file against its schema, so the demo, promotion and the PR report never read a
stage's output as raw JSON and never misread a file an older or broken run left behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rollgate.contracts import jsonio

VALIDATE_SUMMARY = "validate-summary"
VALIDATION_REPORT = "validation-report"
EVALUATION = "evaluation"


def write_validate_summary(path: Path, summary: dict[str, Any]) -> None:
    jsonio.write_checked(path, summary, VALIDATE_SUMMARY)


def read_validate_summary(path: Path) -> dict[str, Any]:
    """`reports/validate.json`: rows, files, label rate and data md5 of data that passed validation."""
    return jsonio.read(path, VALIDATE_SUMMARY)


def write_validation_report(path: Path, report: dict[str, Any]) -> None:
    jsonio.write_checked(path, report, VALIDATION_REPORT)


def read_validation_report(path: Path) -> dict[str, Any]:
    """`reports/validation/report.json`: every check that failed, with example rows (pass or fail)."""
    return jsonio.read(path, VALIDATION_REPORT)


def write_evaluation(path: Path, summary: dict[str, Any]) -> None:
    jsonio.write_checked(path, summary, EVALUATION)


def read_evaluation(path: Path) -> dict[str, Any]:
    """`reports/evaluate.json`: the holdout's headline metrics, threshold, size and latency."""
    return jsonio.read(path, EVALUATION)
