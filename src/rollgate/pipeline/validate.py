"""Stage `validate`: the raw batches against the Pandera schema and the label checks.

It also checks that data/ is what data.dvc records (data.dvc itself cannot be a DVC dependency; the
`data` dependency covers it once the two agree). The full report goes to `reports/validation/report.json`,
which the stage does not declare as an output, so it survives a failure; the declared metric is written
only when validation passes.
"""

from __future__ import annotations

from pathlib import Path

from rollgate import params as params_
from rollgate.adapters import dvc
from rollgate.contracts import paths, reports
from rollgate.contracts.errors import DataValidationError
from rollgate.data import batches, validation
from rollgate.data.schema import DATASET


def run(root: Path) -> validation.Report:
    params = params_.load(root / paths.PARAMS, DATASET.params_columns).validate_
    df, origin, read_failures = batches.read_batches(root / DATASET.batches)
    files = len(origin["file"].unique()) + len(read_failures)
    report = validation.validate(df, origin, params, files=files, read_failures=read_failures)
    reports.write_validation_report(root / paths.VALIDATION_REPORT, report.to_dict())
    if not report.passed:
        raise DataValidationError(f"{DATASET.batches}: {report.summary()}\n  full report: {paths.VALIDATION_REPORT}")
    data_md5 = dvc.dir_md5(root / paths.DATA_DIR)
    recorded = dvc.recorded_md5_of(root / paths.DATA_DVC)
    if data_md5 != recorded:
        raise DataValidationError(
            f"{paths.DATA_DIR}: its content (md5 {data_md5}) is not what {paths.DATA_DVC} records ({recorded}): "
            f"record the change with `dvc add {paths.DATA_DIR}` (or restore it with `dvc checkout`)"
        )
    reports.write_validate_summary(root / paths.VALIDATE_METRICS, report.metrics(data_md5))
    print(report.summary())
    return report
