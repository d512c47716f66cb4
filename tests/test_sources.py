from __future__ import annotations

import pandas as pd
import pytest

from airflow_alignment.exceptions import DataError, SourceUnavailableError, SpecError
from airflow_alignment.io import FileSource, describe_source, infer_format, load_frame, validate_data_arg

FRAME = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [0.5, 1.5, 2.5]})


@pytest.fixture()
def files(tmp_path):
    paths = {
        "csv": tmp_path / "d.csv",
        "parquet": tmp_path / "d.parquet",
        "jsonl": tmp_path / "d.jsonl",
        "gz": tmp_path / "d.csv.gz",
        "noext": tmp_path / "d.data",
    }
    FRAME.to_csv(paths["csv"], index=False)
    FRAME.to_parquet(paths["parquet"], index=False)
    FRAME.to_json(paths["jsonl"], orient="records", lines=True)
    FRAME.to_csv(paths["gz"], index=False, compression="gzip")
    FRAME.to_parquet(paths["noext"], index=False)
    return paths


@pytest.mark.parametrize("kind", ["csv", "parquet", "jsonl", "gz"])
def test_reads_each_format_by_suffix(files, kind):
    frame = load_frame(str(files[kind]))
    pd.testing.assert_frame_equal(frame.reset_index(drop=True), FRAME, check_dtype=False)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_reads_only_the_needed_columns(files, kind):
    frame = load_frame(files[kind], columns=["c", "a"])
    assert list(frame.columns) == ["c", "a"]
    assert frame["a"].tolist() == [1, 2, 3]


def test_explicit_format_for_a_file_without_suffix(files):
    assert load_frame(FileSource(str(files["noext"]), format="parquet"))["b"].tolist() == ["x", "y", "z"]
    assert load_frame(str(files["noext"]), format="parquet").shape == (3, 3)
    assert load_frame({"path": str(files["noext"]), "format": "parquet"}).shape == (3, 3)


def test_unknown_suffix_asks_for_format(files):
    with pytest.raises(
        SpecError, match=r"cannot tell the format of .*d\.data.* pass format= one of csv, parquet, jsonl"
    ):
        load_frame(str(files["noext"]))


def test_missing_file_names_the_path_and_is_retryable(tmp_path):
    missing = tmp_path / "nope.parquet"
    with pytest.raises(SourceUnavailableError, match=f"data file not found: {missing}") as info:
        load_frame(str(missing))
    assert isinstance(info.value, OSError)  # Airflow retries it


def test_unreadable_content_is_a_data_error(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_text("this is not parquet")
    with pytest.raises(DataError, match=r"could not read .*bad\.parquet as parquet"):
        load_frame(str(bad))


def test_missing_column_lists_the_available_ones(files):
    with pytest.raises(DataError, match=r"column 'zz' not in .*Columns in the data: \['a', 'b', 'c'\]"):
        load_frame(files["parquet"], columns=["a", "zz"])
    with pytest.raises(DataError, match=r"column 'aa' not in .*Did you mean 'a'\?"):
        load_frame(files["csv"], columns=["aa"])


def test_callable_and_dataframe_sources():
    def make():
        return FRAME

    assert load_frame(make, columns=["b"])["b"].tolist() == ["x", "y", "z"]
    assert describe_source(make).startswith("callable:")
    assert load_frame(FRAME).shape == (3, 3)
    with pytest.raises(DataError, match=r"returned list, expected a pandas.DataFrame"):
        load_frame(lambda: [1, 2])


def test_uri_through_object_storage():
    import fsspec

    fs = fsspec.filesystem("memory")
    with fs.open("/src/d.parquet", "wb") as handle:
        FRAME.to_parquet(handle, index=False)
    assert load_frame("memory://src/d.parquet", columns=["a"])["a"].tolist() == [1, 2, 3]
    with pytest.raises(SourceUnavailableError, match=r"data file not found: memory://src/missing.csv"):
        load_frame("memory://src/missing.csv")


def test_parse_time_validation_of_the_data_argument():
    with pytest.raises(SpecError, match="no data source given"):
        validate_data_arg(None)
    with pytest.raises(SpecError, match="empty string"):
        validate_data_arg("  ")
    assert infer_format("s3://b/x.ndjson") == "jsonl"
