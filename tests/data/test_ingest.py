"""`rollgate data import` and the dataset definition, on a schema of the test's own (other names, a bool
feature, a bool label in the exports): batches the pipeline accepts, and one clear error for each mistake
adopters make. Also the batch reader's checks that hold for any dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.typing import Series

from rollgate.contracts.errors import ContractError, DataValidationError
from rollgate.data import batches, ingest, sample
from rollgate.data.dataset import Dataset, feature, role

pytestmark = pytest.mark.data


class Visits(pa.DataFrameModel):
    visit_id: Series[str] = pa.Field(unique=True, metadata=role("id"))
    at: Series[pd.Timestamp] = pa.Field(metadata=role("timestamp"))
    site: Series[str] = pa.Field(isin=["a", "b", "c"], metadata=feature("site"))
    returning: Series[bool] = pa.Field(metadata=feature("seen before"))
    pages: Series[int] = pa.Field(ge=1, le=500, metadata=feature("pages viewed"))
    bought: Series[int] = pa.Field(isin=[0, 1], metadata=role("label"))

    class Config:
        strict = True


VISITS = Dataset.define(Visits, batches="data/visits", noun="visits")


def _export(rows: int = 60, start: str = "2026-01-01", seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "visit_id": [f"v{seed}-{i}" for i in range(rows)],
            "at": (pd.Timestamp(start) + pd.to_timedelta(np.arange(rows) * 86400, unit="s")).strftime(
                "%Y-%m-%dT%H:%M:%S"
            ),
            "site": rng.choice(["a", "b", "c"], rows),
            "returning": rng.random(rows) < 0.5,
            "pages": rng.integers(1, 50, rows),
            "bought": rng.random(rows) < 0.5,
        }
    )


def test_the_definition_finds_the_roles() -> None:
    assert (VISITS.id, VISITS.timestamp, VISITS.label) == ("visit_id", "at", "bought")
    assert VISITS.features.names == ["site", "returning", "pages"]
    assert VISITS.params_columns.categorical == ("visit_id", "site", "returning")


def test_a_schema_without_a_label_role_is_refused() -> None:
    class NoLabel(pa.DataFrameModel):
        key: Series[str] = pa.Field(metadata=role("id"))
        at: Series[pd.Timestamp] = pa.Field(metadata=role("timestamp"))
        x: Series[float] = pa.Field(metadata=feature("x"))

    with pytest.raises(ContractError, match=r"NoLabel: exactly one column needs metadata=role\('label'\)"):
        Dataset.define(NoLabel, batches="data/x")


def test_a_batch_folder_outside_the_repository_is_refused() -> None:
    with pytest.raises(ContractError, match="must be a folder inside the repository"):
        Dataset.define(Visits, batches="../elsewhere")


def test_csv_and_parquet_exports_become_monthly_batches_in_time_order(tmp_path: Path) -> None:
    late, early = _export(40, "2026-03-10", seed=1), _export(40, "2026-01-20", seed=2)
    late.to_csv(tmp_path / "late.csv", index=False)
    early.to_parquet(tmp_path / "early.parquet", index=False)

    written = ingest.run([tmp_path / "late.csv", tmp_path / "early.parquet"], VISITS, tmp_path / "out", "month")

    assert [p.name for p in written] == ["2026-01.parquet", "2026-02.parquet", "2026-03.parquet", "2026-04.parquet"]
    frame = pd.concat([pd.read_parquet(p) for p in written], ignore_index=True)
    assert len(frame) == 80 and frame["at"].is_monotonic_increasing
    assert frame["bought"].dtype == np.int64 and set(frame["bought"]) <= {0, 1}
    assert frame["returning"].dtype == bool
    Visits.validate(frame)  # the batches pass the adopter's own schema


@pytest.mark.parametrize(("partition", "files"), [("week", 9), ("day", 60)])
def test_partitions_by_week_or_day(tmp_path: Path, partition: ingest.Partition, files: int) -> None:
    _export(60, "2026-01-05").to_parquet(tmp_path / "x.parquet", index=False)
    assert len(ingest.run([tmp_path / "x.parquet"], VISITS, tmp_path / "out", partition)) == files


def test_csv_named_parquet_is_refused_with_what_it_is(tmp_path: Path) -> None:
    _export().to_csv(tmp_path / "x.parquet", index=False)
    with pytest.raises(DataValidationError, match=r"x\.parquet: not Parquet \(no PAR1 header\): is it CSV"):
        ingest.run([tmp_path / "x.parquet"], VISITS, tmp_path / "out", "month")


def test_an_extra_column_is_reported_once_for_all_files(tmp_path: Path) -> None:
    sources = []
    for i in range(3):
        path = tmp_path / f"part{i}.csv"
        _export(seed=i).assign(colour="red").to_csv(path, index=False)
        sources.append(path)

    with pytest.raises(DataValidationError) as caught:
        ingest.run(sources, VISITS, tmp_path / "out", "month")

    text = str(caught.value)
    assert text.count("extra column 'colour'") == 1 and "in 3 file(s)" in text
    assert not (tmp_path / "out").exists()  # nothing written


@pytest.mark.parametrize("labels", [["yes", "maybe"], [0, 2]])
def test_a_label_that_is_not_0_1_names_its_rows(tmp_path: Path, labels: list[object]) -> None:
    frame = _export(2)
    frame["bought"] = labels
    frame.to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(DataValidationError, match=r"x\.csv: .*bought.* rows \[1\]"):
        ingest.run([tmp_path / "x.csv"], VISITS, tmp_path / "out", "month")


def test_an_unconvertible_value_names_file_and_column(tmp_path: Path) -> None:
    frame = _export(3).astype({"pages": object})
    frame.loc[1, "pages"] = "many"
    frame.to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(DataValidationError, match=r"x\.csv: column 'pages': cannot convert"):
        ingest.run([tmp_path / "x.csv"], VISITS, tmp_path / "out", "month")


def test_the_generic_sampler_draws_valid_rows_with_signal() -> None:
    frame = sample.generic(VISITS, 2_000, seed=4, label_rate=0.3)

    Visits.validate(frame)
    assert 0.25 < frame["bought"].mean() < 0.35
    assert frame["at"].is_monotonic_increasing
    by_site = frame.groupby("site")["bought"].mean()
    assert by_site.max() - by_site.min() > 0.02 or frame.groupby("returning")["bought"].mean().std() > 0.02


def test_the_generic_sampler_says_when_a_schema_needs_a_hook() -> None:
    class Strict(Visits):
        @pa.dataframe_check
        def never(cls, df: pd.DataFrame) -> bool:  # noqa: N805
            return False

    with pytest.raises(ContractError, match="give the dataset definition a sampler hook"):
        sample.generic(Dataset.define(Strict, batches="data/v"), 50, seed=0)


def test_batches_out_of_time_order_by_name_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batches, "DATASET", VISITS)
    folder = tmp_path / "visits"
    folder.mkdir()
    written = ingest.run([_write(tmp_path, _export(90))], VISITS, tmp_path / "tmp", "month")
    names = ["mar.parquet", "jan.parquet", "feb.parquet"]  # January's rows named mar: names sort out of time
    for path, name in zip(written, names, strict=True):
        path.rename(folder / name)
    (folder / "notes.csv").write_text("a,b\n")

    _, _, failures = batches.read_batches(folder)

    checks = {(f.check, e["file"].rsplit("/", 1)[-1]) for f in failures for e in f.examples}
    assert ("file names in time order", "jan.parquet") in checks
    assert ("batch files are Parquet", "notes.csv") in checks


def _write(tmp_path: Path, frame: pd.DataFrame) -> Path:
    frame.to_parquet(tmp_path / "export.parquet", index=False)
    return tmp_path / "export.parquet"
