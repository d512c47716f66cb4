"""Hostile and broken input, case by case (issue 13): each gets a clear error naming the
argument, column or key, in bounded time and memory, and nothing is lost.

The generated cases are in ``tests/test_robustness.py``; these are the findings written out,
one test per finding, each asserting the message.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from airflow_alignment import limits
from airflow_alignment.engines import drift, fairness, performance
from airflow_alignment.exceptions import DataError, SpecError
from airflow_alignment.io import FileSource, SqlSource
from tests.conftest import checked

DP = {"metric": "demographic_parity_ratio", "min": 0.8}


def labelled(n: int = 200, groups: int = 2, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "y": rng.integers(0, 2, n),
            "p": rng.integers(0, 2, n),
            "s": rng.random(n),
            "g": np.array([f"g{i}" for i in range(groups)])[rng.integers(0, groups, n)],
        }
    )


# -- 4. every size-like option has an upper bound ---------------------------------------------
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: fairness.validate_constraints([DP], n_boot=10**12),
            "n_boot: 1,000,000,000,000 is more than 100,000, the most a check allows; lower it",
        ),
        (
            lambda: performance.validate_constraints([{"metric": "accuracy", "min": 0.5}], n_boot=10**8),
            "n_boot: 100,000,000 is more than 100,000, the most a check allows; lower it",
        ),
        (lambda: drift.validate_spec(bins=10**9), "bins: 1,000,000,000 is more than 1,000, the most a check allows"),
        (
            lambda: FileSource("x.parquet", batch_rows=10**10),
            "FileSource.batch_rows: 10,000,000,000 is more than 10,000,000, the most a check allows",
        ),
        (
            lambda: SqlSource("wh", table="t", chunk_rows=10**9),
            "SqlSource.chunk_rows: 1,000,000,000 is more than 10,000,000, the most a check allows",
        ),
        (
            lambda: FileSource("x.parquet", batch_rows=2.5),
            "FileSource.batch_rows: expected a whole number of rows between 1 and 10,000,000, got 2.5",
        ),
    ],
)
def test_size_like_options_are_bounded_and_the_message_names_the_option(call, message):
    with pytest.raises(SpecError) as info:
        call()
    assert str(info.value).startswith(message), str(info.value)


def test_a_huge_n_boot_is_refused_before_anything_is_allocated():
    tracemalloc.start()
    try:
        with pytest.raises(SpecError, match=r"^n_boot: 100,000,000 is more than 100,000"):
            performance.evaluate(
                labelled(),
                y_true="y",
                y_pred="p",
                confidence=0.95,
                n_boot=10**8,
                constraints=[{"metric": "accuracy", "min": 0.1}],
            )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20e6


def test_groups_times_replicates_is_bounded_with_the_n_boot_that_fits():
    df = labelled(n=30_000, groups=3_000)
    with pytest.raises(DataError) as info:
        fairness.evaluate(
            df,
            y_true="y",
            y_pred="p",
            sensitive_features="g",
            constraints=[DP],
            min_group_size=1,
            confidence=0.9,
            n_boot=1000,
        )
    assert str(info.value) == (
        "n_boot: 1,000 bootstrap replicates of 3,000 groups is 3,000,000 group draws, more than 2,000,000; "
        "lower n_boot to 666 or fewer, or leave confidence out"
    )
    result = fairness.evaluate(
        df,
        y_true="y",
        y_pred="p",
        sensitive_features="g",
        constraints=[DP],
        min_group_size=1,
        confidence=0.9,
        n_boot=666,
    )
    assert checked(result).metrics["settings"]["n_boot"] == 666


def test_more_groups_than_a_fairness_check_compares_is_a_clear_error():
    n = limits.MAX_GROUPS + 1
    df = pd.DataFrame({"y": [0, 1] * n, "p": [1, 0] * n, "zip": [f"{i:05d}" for i in range(n)] * 2})
    with pytest.raises(DataError) as info:
        fairness.evaluate(df, y_true="y", y_pred="p", sensitive_features="zip", constraints=[DP])
    assert str(info.value) == (
        "sensitive feature 'zip' has 10,001 groups in 20,002 rows, more than 10,000, the most a fairness check "
        "compares; map rare values to a common one (e.g. 'other') or use a coarser feature"
    )


def test_marginal_views_of_thousands_of_groups_merge_in_linear_time():
    """Merging 9,000 intersectional groups into 3,000 per feature took 90 s (a dense product)."""
    rng = np.random.default_rng(0)
    n = 6_000
    df = pd.DataFrame(
        {
            "y": rng.integers(0, 2, n),
            "p": rng.integers(0, 2, n),
            "a": rng.integers(0, 3_000, n),
            "b": rng.integers(0, 3_000, n),
        }
    )
    t0 = time.perf_counter()
    result = fairness.evaluate(
        df,
        y_true="y",
        y_pred="p",
        sensitive_features=["a", "b"],
        marginal=True,
        confidence=0.9,
        n_boot=100,
        constraints=[DP],
        min_group_size=1,
    )
    assert time.perf_counter() - t0 < 30
    marginal = checked(result).metrics["marginal"]
    assert set(marginal) == {"a", "b"}
    assert sum(g["count"] for g in marginal["a"]["selection_rate"]["by_group"]) == n


# -- 3. duplicate column names ----------------------------------------------------------------
def duplicated() -> pd.DataFrame:
    df = labelled()
    return pd.concat([df, df[["y"]]], axis=1)  # 'y' twice


DUPLICATE = "has duplicate column names: 'y' (2 columns); give each column its own name"


@pytest.mark.parametrize(
    "call",
    [
        lambda df: fairness.evaluate(df, y_true="y", y_pred="p", sensitive_features="g", constraints=[DP]),
        lambda df: performance.evaluate(df, y_true="y", y_pred="p", constraints=[{"metric": "accuracy", "min": 0}]),
        lambda df: drift.evaluate(df, df),
        lambda df: __import__("airflow_alignment.engines.expectations").engines.expectations.evaluate(
            df, expectations=[{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "g"}}]
        ),
        lambda df: __import__("airflow_alignment.engines.binary.cells").engines.binary.cells.from_frame(
            df, features=["g"], y_true="y", y_pred="p"
        ),
    ],
    ids=["fairness", "performance", "drift", "expectations", "cells"],
)
def test_duplicate_column_names_are_a_data_error_naming_them(call):
    with pytest.raises(DataError) as info:
        call(duplicated())
    assert str(info.value).endswith(DUPLICATE), str(info.value)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_duplicate_column_names_in_a_file_are_refused_at_load(tmp_path, fmt):
    """pandas renames a repeated CSV header to 'y.1' and reads on; pyarrow returns both columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from airflow_alignment.io import iter_batches, load_frame

    path = tmp_path / f"dup.{fmt}"
    if fmt == "csv":
        path.write_text("y,p,y\n1,0,1\n0,1,0\n")
    else:
        pq.write_table(pa.table([pa.array([1, 0]), pa.array([0, 1]), pa.array([1, 0])], names=["y", "p", "y"]), path)
    for read in (
        lambda: load_frame(str(path)),
        lambda: load_frame(str(path), columns=["p"]),
        lambda: next(iter_batches(str(path), ["p"], 10)),
    ):
        with pytest.raises(DataError) as info:
            read()
        assert str(info.value) == f"{path} {DUPLICATE}"


# -- 5. inf in a drift feature ----------------------------------------------------------------
def test_infinite_values_in_a_drift_feature_are_counted_reported_and_judged():
    reference = pd.DataFrame({"x": np.random.default_rng(0).normal(size=10_000)})
    current = reference.copy()
    current.loc[:499, "x"] = np.inf  # a 5% share of inf used to read as "no drift", missing: 0
    result = checked(drift.evaluate(reference, current))
    report = result.metrics["features"]["x"]
    assert report["infinite"] == {"reference": {"count": 0, "share": 0.0}, "current": {"count": 500, "share": 0.05}}
    assert {"bin": "(infinite)", "reference": 0, "current": 500} in report["bins"]
    assert "500 current values are infinite: counted in the (infinite) bin" in report["notes"]
    assert result.status == "failed" and result.summary.startswith("x: PSI 0.31 (block above 0.25)")
    # the finite values keep their own bins: the reference's quantiles, cut without the infinities
    finite = checked(drift.evaluate(reference, reference.iloc[500:]))
    assert [b["bin"] for b in finite.metrics["features"]["x"]["bins"]] == [b["bin"] for b in report["bins"][:-1]]
    assert "infinite" not in finite.metrics["features"]["x"]


def test_a_reference_with_infinities_is_cut_on_its_finite_values():
    reference = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, -np.inf, np.inf] * 50})
    result = checked(drift.evaluate(reference, reference, bins=4))
    report = result.metrics["features"]["x"]
    assert [b["bin"] for b in report["bins"]] == [
        "(-inf, 1.75]",
        "(1.75, 2.5]",
        "(2.5, 3.25]",
        "(3.25, inf)",
        "(infinite)",
    ]
    assert report["infinite"]["reference"] == {"count": 100, "share": 100 / 300}
    assert report["psi"] == 0 and result.status == "passed"


def test_drift_follows_the_selection_rate_of_at_most_max_groups():
    n = limits.MAX_GROUPS + 1
    frame = pd.DataFrame({"x": np.arange(n, dtype=float), "pred": [0, 1] * (n // 2) + [1], "id": np.arange(n)})
    with pytest.raises(DataError) as info:
        drift.evaluate(frame, frame, features=["x"], prediction="pred", sensitive_features="id")
    assert str(info.value) == (
        "sensitive_features ['id']: the reference has 10,001 groups, more than 10,000, the most a drift check "
        "follows; map rare values to a common one (e.g. 'other') or use a coarser feature"
    )


# -- 7. a mixed-type column keeps Great Expectations' own cause -------------------------------
def test_a_mixed_type_column_gives_gx_cause_and_names_the_types():
    from airflow_alignment.engines.expectations import evaluate

    mixed = pd.DataFrame({"a": [1, "x", 2.5, None] * 5})
    with pytest.raises(DataError) as info:
        evaluate(
            mixed,
            expectations=[
                {
                    "type": "expect_column_values_to_be_between",
                    "kwargs": {"column": "a", "min_value": 0, "max_value": 10},
                }
            ],
        )
    assert str(info.value) == (
        "expectations[0] (expect_column_values_to_be_between) could not be evaluated: Column values, min_value, "
        "and max_value must either be None or of the same type. (column 'a' holds values of several types: "
        "int (5 rows), str (5 rows), float (5 rows); cast it to one type)"
    )


# -- 8. 1, 1.0 and True in a sensitive feature ------------------------------------------------
MERGED = (
    "sensitive feature 'g' holds equal values of different types: 1 (int), 1.0 (float), True (bool) would "
    "count as one group; cast the column to one type (e.g. df['g'].astype(str)) so that each group is the "
    "one you mean"
)


def merging() -> pd.DataFrame:
    return pd.DataFrame({"y": [1, 0] * 30, "p": [1, 0, 0, 1] * 15, "g": pd.Series([1, 1.0, True] * 20, dtype=object)})


@pytest.mark.parametrize(
    "call",
    [
        lambda df: fairness.evaluate(df, y_true="y", y_pred="p", sensitive_features="g", constraints=[DP]),
        lambda df: __import__("airflow_alignment.engines.binary.cells").engines.binary.cells.from_frame(
            df, features=["g"], y_true="y", y_pred="p"
        ),
        lambda df: drift.evaluate(df, df, features=["y"], prediction="p", sensitive_features="g"),
    ],
    ids=["fairness", "cells", "drift"],
)
def test_equal_values_of_different_types_in_a_sensitive_feature_are_refused(call):
    with pytest.raises(DataError) as info:
        call(merging())
    assert str(info.value) == MERGED


def test_mixed_types_that_never_compare_equal_stay_distinct_groups():
    df = merging().assign(g=pd.Series(["1", 1, "a"] * 20, dtype=object))
    result = checked(
        fairness.evaluate(df, y_true="y", y_pred="p", sensitive_features="g", constraints=[DP], min_group_size=1)
    )
    assert len(result.metrics["selection_rate"]["by_group"]) == 3


# -- 1, 2, 6. policy files --------------------------------------------------------------------
CHECK = (
    "checks: [{name: fairness, kind: fairness, data: d.csv, y_true: y, y_pred: p, sensitive_features: s, "
    "constraints: [{metric: demographic_parity_ratio, min: 0.8}]}]\n"
)


def billion_laughs() -> str:
    """About 1 KB of YAML whose aliases expand to 10^9 strings."""
    lines = ["name: x", "version: '1'", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    return "\n".join([*lines, "references: *a8", CHECK])


def load_bounded(policy, seconds: float = 10.0, megabytes: float = 50.0):
    """load_policy's error, within a time and memory bound."""
    from airflow_alignment.policy import load_policy

    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(SpecError) as info:
            load_policy(policy)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - t0 < seconds and peak < megabytes * 1e6
    return str(info.value)


def test_a_billion_laughs_policy_stops_at_the_bound_where_its_aliases_expand():
    assert len(billion_laughs()) < 1500
    assert load_bounded(billion_laughs()) == (
        "policy <string>: line 7: the alias *a3: more than 100,000 values in one policy (an alias counts as its "
        "anchor's value written out)"
    )
    assert load_bounded("name: x\nversion: '1'\nchecks: &c [1, *c]\n") == (
        "policy <string>: line 3: the alias *c is inside the value it names (a cycle); write the value out"
    )
    assert load_bounded("name: x\nversion: '1'\nchecks: *nowhere\n").startswith(
        "policy <string>: not valid YAML: found undefined alias 'nowhere'"
    )


def test_anchors_and_aliases_within_the_bounds_load_as_written_out():
    """The warehouse template names its SQL source once (&partition) and repeats it (*partition)."""
    import yaml

    from airflow_alignment.policy import canonical_sha256, load_policy
    from tests.conftest import DAGS

    path = DAGS / "policies" / "warehouse.yaml"
    policy = load_policy(str(path))
    assert len({str(c.data) for c in policy.checks}) == 1 and len(policy.checks) == 4
    assert policy.sha256 == canonical_sha256(yaml.safe_load(path.read_text()))
    deep_alias = "name: x\nversion: '1'\na: &a " + "[" * 20 + "]" * 20 + "\nb: " + "[" * 15 + "*a" + "]" * 15 + "\n"
    assert load_bounded(deep_alias) == (
        "policy <string>: line 4: the alias *a: nested more than 32 levels deep (an "
        "alias counts as its anchor's value written out)"
    )


def test_a_policy_mapping_with_shared_values_is_bounded_too():
    laughs = ["lol"] * 10
    for _ in range(8):
        laughs = [laughs] * 10
    message = load_bounded({"name": "x", "version": "1", "references": laughs, "checks": []})
    assert message == "policy: more than 100,000 values (are values shared or cyclic?)"


def test_deep_nesting_is_refused_without_recursion_error(tmp_path):
    deep = "name: x\nversion: '1'\nchecks: " + "[" * 100_000 + "]" * 100_000 + "\n"
    assert load_bounded(deep) == "policy <string>: line 3: nested more than 32 levels deep"
    nested: dict = {"name": "x", "version": "1"}
    inner = nested
    for _ in range(100_000):
        inner["checks"] = {}
        inner = inner["checks"]
    assert load_bounded(nested).endswith(": nested more than 32 levels deep")


def test_a_policy_file_that_is_not_utf8_or_too_big(tmp_path):
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: café\nversion: '1'\n".encode("latin-1"))
    assert load_bounded(str(latin)) == (
        f"policy file {latin} is not UTF-8 text (byte 0xe9 at offset 9 is not valid UTF-8); save it as UTF-8"
    )
    big = tmp_path / "big.yaml"
    big.write_text("name: x\nversion: '1'\n# " + "x" * limits.MAX_POLICY_BYTES + "\n")
    assert load_bounded(str(big)) == (
        f"policy file {big} is {big.stat().st_size:,} bytes, more than 1,048,576: a "
        "policy is a short YAML file of checks; is this the right file?"
    )
    with_bom = tmp_path / "bom.yaml"
    with_bom.write_bytes(b"\xef\xbb\xbfname: x\nversion: '1'\n" + CHECK.encode())
    from airflow_alignment.policy import load_policy

    assert load_policy(str(with_bom)).name == "x"


def test_duplicate_keys_are_refused_with_their_lines():
    text = "name: x\nversion: '1'\nname: y\n" + CHECK
    assert load_bounded(text) == (
        "policy <string>: line 3: duplicate key 'name' (first at line 1); YAML would "
        "keep only the last value: write the key once"
    )
    inline = CHECK.replace("min: 0.8}", "min: 0.8, min: 0.1}")
    assert load_bounded("name: x\nversion: '1'\n" + inline).startswith("policy <string>: line 3: duplicate key 'min'")


@pytest.mark.parametrize(
    ("written", "version"),
    [("1.10", "1.10"), ("1.0", "1.0"), ("2", "2"), ("'1.10'", "1.10"), ("1e3", "1e3"), ("2026-01-31", "2026-01-31")],
)
def test_the_version_is_kept_as_written(written, version):
    from airflow_alignment.policy import load_policy

    assert load_policy(f"name: x\nversion: {written}\n{CHECK}").version == version


def test_the_hash_tells_version_110_from_11_and_is_unchanged_where_nothing_was_lost():
    from airflow_alignment.policy import canonical_sha256, load_policy

    def text(v: str) -> str:
        return f"name: x\nversion: {v}\n{CHECK}"

    assert load_policy(text("1.10")).sha256 != load_policy(text("1.1")).sha256
    assert load_policy(text("2")).sha256 == canonical_sha256(__import__("yaml").safe_load(text("2")))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"references": {"a": 1}}, "references: expected a string or a list of strings, got {'a': 1}"),
        ({"checks": [{"description": ["x"]}]}, "checks[0].description: expected a string, got list"),
        (
            {"checks": [{"name": ".."}]},
            "checks[0].name: '..' is only dots: as a task id it cannot name a folder "
            "or a report page; use letters or digits",
        ),
        ({"checks": [{"y_true": 1}]}, "checks[0].y_true: expected a column name (a string), got int 1; quote it"),
        (
            {"checks": [{"sensitive_features": []}]},
            "checks[0].sensitive_features: expected a column or a non-empty list of columns, got []",
        ),
        ({"checks": [{"n_boot": 10**12}]}, "checks[0].n_boot: 1,000,000,000,000 is more than 100,000"),
        ({"checks": [{"random_state": -1}]}, "checks[0].random_state: expected None or a whole number of at least 0"),
        ({"checks": [{"marginal": "yes"}]}, "checks[0].marginal: expected true or false, got 'yes'"),
        (
            {"checks": [{"data": 42}]},
            "checks[0].data: expected a key of alignment_checks(data=...), a path, a URI or a mapping, got int 42",
        ),
        (
            {"checks": [{"pos_label": [1]}]},
            "checks[0].pos_label: expected a label (a string, a number or true/false), got [1]",
        ),
        ({"defaults": {"missing_groups": "ignore"}}, "defaults.missing_groups: unknown value 'ignore'"),
        ({"defaults": {"n_boot": 10**9}}, "defaults.n_boot: 1,000,000,000 is more than 100,000"),
        ({"version": True}, "version: expected a version label such as '1.0', got True"),
        ({"name": "a\\x00b"}, "name: 'a\\x00b' names the approval asset and the baselines"),
    ],
)
def test_every_key_of_a_policy_is_checked(edit, message):
    import yaml

    raw = yaml.safe_load("name: x\nversion: '1'\n" + CHECK)
    for key, value in edit.items():
        if key == "checks":
            raw["checks"][0].update(value[0])
        else:
            raw[key] = value.replace("\\x00", "\x00") if isinstance(value, str) else value
    text = str(load_bounded(raw))
    assert text.startswith(message), text


def test_docs_state_the_bounds_of_limits_py():
    from tests.conftest import ROOT

    text = " ".join((ROOT / "docs" / "policy.md").read_text().split())
    for expected in (
        f"1 to {limits.MAX_N_BOOT:,}",
        f"at most {limits.MAX_BOOTSTRAP_DRAWS:,}",
        f"2 to {limits.MAX_BINS:,}",
        f"1 to {limits.MAX_BATCH_ROWS:,}",
        f"| {limits.MAX_GROUPS:,} |",
        f"more than 1 MiB ({limits.MAX_POLICY_BYTES:,} bytes)",
        f"more than {limits.MAX_POLICY_DEPTH} levels of nesting, or more than {limits.MAX_POLICY_VALUES:,} values",
    ):
        assert expected in text, expected


def test_expectation_keys_other_than_kwargs_are_checked_too():
    from airflow_alignment.engines.expectations import normalize_expectations

    base = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}}
    for extra, message in (
        ({"meta": [1]}, "expectations[0].meta: expected an object, got list"),
        ({"notes": {"a": 1}}, "expectations[0].notes: expected a string or a list of strings"),
        ({"description": 3}, "expectations[0].description: expected a string, got int"),
        ({"name": ["n"]}, "expectations[0].name: expected a string, got list"),
    ):
        with pytest.raises(SpecError) as info:
            normalize_expectations([{**base, **extra}])
        assert str(info.value).startswith(message)
    assert normalize_expectations([{**base, "notes": ["why"], "meta": {"owner": "x"}}])[0]["notes"] == ["why"]


# -- 9. reports show no absolute server path --------------------------------------------------
def publish(result, store, task_id: str = "t"):
    import logging
    from types import SimpleNamespace

    from airflow_alignment.tasks.publish import publish_result

    ti = SimpleNamespace(dag_id="d", run_id="r", task_id=task_id, map_index=-1, try_number=1)
    return publish_result(result, {"ti": ti}, store=store, model=None, log=logging.getLogger("test"), push=False)


def test_reports_show_store_paths_relative_and_data_files_by_name(tmp_path):
    from airflow_alignment.engines.gate import decide, finding
    from airflow_alignment.results import error_result
    from airflow_alignment.store.artifacts import ArtifactStore, result_key

    store = ArtifactStore(tmp_path / "server" / "store")
    data = tmp_path / "server" / "data" / "2026-01-31" / "predictions.parquet"
    result = performance.evaluate(
        labelled(), y_true="y", y_pred="p", constraints=[{"metric": "accuracy", "min": 0.9}], source=str(data)
    )
    missing = error_result(
        check="quality",
        kind="expectations",
        severity="block",
        exc=DataError(f"column 'age' not in {data}. Columns in the data: ['y']"),
    )
    checks = [publish(result, store, "performance"), publish(missing, store, "quality")]
    gate = decide([finding(c["context"]["task_id"], c) for c in checks])
    publish(gate, store, "gate")
    for task_id in ("performance", "quality", "gate"):
        context = {"dag_id": "d", "run_id": "r", "task_id": task_id, "map_index": -1, "try_number": 1}
        page = store.read_text(result_key(context, "report.html"))
        assert str(tmp_path) not in page, task_id
        stored = store.read_text(result_key(context))
        assert str(store.base) in stored  # operators keep the full paths in the stored result
    context = {"dag_id": "d", "run_id": "r", "task_id": "performance", "map_index": -1, "try_number": 1}
    page = store.read_text(result_key(context, "report.html"))
    assert "…/predictions.parquet" in page and "results/d/r/performance/-1/try-1/result.json" in page
    context["task_id"] = "quality"
    assert "column &#39;age&#39; not in …/predictions.parquet" in store.read_text(result_key(context, "report.html"))


def test_uris_are_shown_without_credentials():
    from airflow_alignment.reporting.html import public_path

    assert public_path("s3://key:secret@bucket/x.csv", "/store") == "s3://bucket/x.csv"
    assert public_path("s3://aws_default@bucket/x.csv", "/store") == "s3://aws_default@bucket/x.csv"
    assert public_path("file:///store/results/a/result.json", "/store") == "results/a/result.json"
    assert public_path("sql://warehouse/predictions WHERE ds = '2026-01-31'", "/store").startswith("sql://warehouse/")


def test_a_report_of_thousands_of_groups_charts_forty_and_lists_a_thousand():
    from airflow_alignment.reporting import html

    df = labelled(n=50_000, groups=5_000)
    result = fairness.evaluate(df, y_true="y", y_pred="p", sensitive_features="g", constraints=[DP], min_group_size=1)
    page = html.render_report(checked(result))
    assert "The chart shows 40 of 5,000 groups: those behind the judged aggregates" in page
    assert "+4000 more groups in the stored result" in page
    assert len(page) < 1_000_000


def test_run_and_history_pages_cut_paths_in_summaries():
    from airflow_alignment.reporting import html

    entry = {
        "task_id": "q",
        "map_index": -1,
        "try_number": 1,
        "check": "q",
        "kind": "expectations",
        "status": "error",
        "summary": "q could not be evaluated: data file not found: /srv/secret/x.csv",
        "assertions": [],
        "report_url": "/alignment/dags/d/runs/r/tasks/q/report",
    }
    pages = [
        html.render_run({"dag_id": "d", "run_id": "r", "results": [entry]}),
        html.render_history({"dag_id": "d", "runs": [{"run_id": "r", "started_at": None, "results": [entry]}]}),
    ]
    for page in pages:
        assert "/srv/secret" not in page and "…/x.csv" in page
    assert 'href="/alignment/dags/d/runs/r/tasks/q/report"' in pages[0]


# -- operators: nothing is lost -----------------------------------------------------------------
class TI:
    """The part of a task instance an operator's execute() uses."""

    dag_id, run_id, map_index, try_number = "hostile", "manual__1", -1, 1

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        self.pushed: dict = {}

    def xcom_push(self, key, value):
        self.pushed[key] = value


def stored_and_audited(store_path, task_id: str) -> tuple[dict, dict]:
    import json

    from airflow_alignment.store.artifacts import ArtifactStore, result_key
    from airflow_alignment.store.audit import read_audit

    store = ArtifactStore(store_path)
    context = {"dag_id": TI.dag_id, "run_id": TI.run_id, "task_id": task_id, "map_index": -1, "try_number": 1}
    records = [r for r in read_audit(store).records if r["task_id"] == task_id]
    assert len(records) == 1
    return json.loads(store.read_text(result_key(context))), records[0]


def test_duplicate_columns_in_the_data_of_an_operator_are_an_error_result_not_a_retry(tmp_path):
    from airflow_alignment.operators import FairnessCheckOperator
    from airflow_alignment.operators.base import AlignmentCheckFailed

    frame = duplicated()
    op = FairnessCheckOperator(
        task_id="fair",
        data=lambda: frame,
        y_true="y",
        y_pred="p",
        sensitive_features="g",
        constraints=[DP],
        artifact_store=str(tmp_path),
    )
    ti = TI("fair")
    with pytest.raises(AlignmentCheckFailed) as info:  # AirflowFailException: no retry
        op.execute({"ti": ti})
    assert DUPLICATE in str(info.value)
    result, record = stored_and_audited(tmp_path, "fair")
    assert checked(ti.pushed["return_value"])["status"] == "error"
    assert result["error"] == {"type": "DataError", "message": ti.pushed["return_value"]["error"]["message"]}
    assert DUPLICATE in result["error"]["message"] and record["status"] == "error"


def test_an_exception_that_is_not_ours_still_leaves_a_result_and_an_audit_record(tmp_path):
    from airflow_alignment.operators import PerformanceCheckOperator

    def broken():
        raise ZeroDivisionError("division by zero in the loader")

    op = PerformanceCheckOperator(
        task_id="perf",
        data=broken,
        y_true="y",
        y_pred="p",
        constraints=[{"metric": "accuracy", "min": 0.5}],
        artifact_store=str(tmp_path),
    )
    ti = TI("perf")
    with pytest.raises(ZeroDivisionError):  # propagates as it is: Airflow retries a bug as anything else
        op.execute({"ti": ti})
    result, record = stored_and_audited(tmp_path, "perf")
    assert checked(result)["status"] == "error" and result["error"]["type"] == "ZeroDivisionError"
    expected = "perf could not be evaluated: unexpected ZeroDivisionError: division by zero in the loader"
    assert result["summary"] == expected
    assert ti.pushed["return_value"]["summary"] == result["summary"] and record["summary"] == result["summary"]


# -- found by the property suite (tests/test_robustness*.py), one regression test each ---------
def tuples() -> pd.DataFrame:
    return labelled(n=40).assign(g=pd.Series([(1, 2), "x", 1, b"b"] * 10, dtype=object))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: fairness.evaluate(labelled(), y_true="y", y_pred="p", sensitive_features=0, constraints=[DP]),
            SpecError,
            "sensitive_features: expected a column name or a non-empty list of column names, got 0",
        ),
        (
            lambda: fairness.evaluate(
                labelled(), y_true="y", y_pred="p", sensitive_features=["g", "g"], constraints=[DP]
            ),
            SpecError,
            "sensitive_features[1]: 'g' is listed twice",
        ),
        (
            lambda: performance.evaluate(
                labelled(), y_true=["y"], y_pred="p", constraints=[{"metric": "accuracy", "min": 0}]
            ),
            SpecError,
            "y_true: expected a column name (a non-empty string), got ['y']",
        ),
        (
            lambda: __import__("airflow_alignment.engines.binary.cells").engines.binary.cells.from_frame(
                labelled(), features=["g"], y_true="y", y_score="", threshold=0.5
            ),
            SpecError,
            "y_score: expected a column name (a non-empty string), got ''",
        ),
        (
            lambda: fairness.evaluate(
                labelled(),
                y_true="y",
                y_pred="p",
                sensitive_features="g",
                constraints=[DP],
                confidence=0.9,
                random_state=-1,
            ),
            SpecError,
            "random_state: expected None or a whole number of at least 0 (the bootstrap's seed), got -1",
        ),
        (
            lambda: drift.evaluate(
                labelled(), labelled(), features=["s"], prediction="g", sensitive_features="g", threshold=0.5
            ),
            DataError,
            "prediction column 'g' is ",
        ),
        (
            lambda: fairness.validate_constraints([{"metric": ["selection_rate"], "min": 0.1}]),
            SpecError,
            "constraints[0].metric: expected a metric name or a callable, got list ['selection_rate']",
        ),
        (
            lambda: __import__("airflow_alignment.engines.expectations").engines.expectations.normalize_expectations(
                [{"type": "expect_x", "kwargs": {}, 3: "x"}]
            ),
            SpecError,
            "expectations[0]: unknown key 3.",
        ),
        (
            lambda: __import__("airflow_alignment.engines.expectations").engines.expectations.evaluate(
                tuples(), expectations=[{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "y"}}]
            ),
            DataError,
            "Great Expectations cannot read the data: pandas cannot hash column(s) 'g' (ValueError: ",
        ),
        (
            lambda: __import__("airflow_alignment.io.sources").io.sources.as_source({"table": "t", 1: None}),
            SpecError,
            "data: a mapping needs 'conn_id' (a SQL source) or 'path' (a file), got keys ['1', 'table']",
        ),
        (
            lambda: __import__("airflow_alignment.engines.binary.cells").engines.binary.cells.from_frame(
                labelled(), features=["g"], y_true="y", y_score="s", threshold="0.5"
            ),
            SpecError,
            "threshold: expected a number, got '0.5'",
        ),
        (
            lambda: fairness.evaluate(
                labelled(n=40).assign(g=pd.Series([np.array([1, 2]), "a"] * 20, dtype=object)),
                y_true="y",
                y_pred="p",
                sensitive_features="g",
                constraints=[DP],
            ),
            DataError,
            "sensitive feature 'g' holds 20 values that cannot be groups (ndarray, e.g. array([1, 2]))",
        ),
        (
            lambda: __import__("airflow_alignment.engines.gate").engines.gate.decide([]),
            SpecError,
            "checks: the gate has no check to judge",
        ),
        (
            lambda: __import__("airflow_alignment.engines.gate").engines.gate.finding("quality", ["passed"]),
            SpecError,
            "result of 'quality': expected a CheckResult document (a mapping) or None, got list",
        ),
        (
            lambda: __import__("airflow_alignment.policy").policy.load_policy("name: x\x00\nversion: '1'\n"),
            SpecError,
            "policy <string>: not valid YAML: unacceptable character #x0000",
        ),
        (
            lambda: __import__("airflow_alignment.policy").policy.load_policy(
                {"name": "x", "version": "1", "checks": [{"name": "q", "kind": "expectations", "data": "d.csv"}]}
            ),
            SpecError,
            "checks[0]: give expectations (a list) or suite (a GX suite JSON file)",
        ),
    ],
)
def test_what_the_property_suite_found(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert type(info.value) is error and str(info.value).startswith(message), str(info.value)


def test_unorderable_and_unhashable_values_are_judged_and_fingerprinted():
    df = tuples()
    result = checked(
        fairness.evaluate(df, y_true="y", y_pred="p", sensitive_features="g", constraints=[DP], min_group_size=1)
    )
    groups = [g["group"]["g"] for g in result.to_dict()["metrics"]["selection_rate"]["by_group"]]
    assert groups == ["b'b'", 1, "x", [1, 2]]  # by type (bytes, int, str, tuple), then by text
    again = checked(
        fairness.evaluate(df.copy(), y_true="y", y_pred="p", sensitive_features="g", constraints=[DP], min_group_size=1)
    )
    assert (
        again.data["fingerprint"]
        == result.data["fingerprint"]
        != checked(
            fairness.evaluate(
                df.assign(y=1 - df["y"]),
                y_true="y",
                y_pred="p",
                sensitive_features="g",
                constraints=[DP],
                min_group_size=1,
            )
        ).data["fingerprint"]
    )


def test_a_gate_reads_a_malformed_finding_as_an_error_that_blocks():
    from airflow_alignment.engines.gate import decide, finding

    result = checked(
        decide(
            [
                finding(
                    "a", {"check": 3, "status": "weird", "severity": "fatal", "summary": None, "policy": {"name": "q"}}
                )
            ]
        )
    )
    assert result.metrics["verdict"] == "rejected" and result.assertions[0].name == "3"
    assert result.summary == "rejected: 1 of 1 checks block deployment; 3 error: unknown status 'weird'"
    assert result.policy is None


def test_drift_groups_that_do_not_sort_and_a_null_psi_max():
    frame = labelled(n=120).assign(g=pd.Series([b"b", 1.5, "x"] * 40, dtype=object))
    result = checked(
        drift.evaluate(
            frame,
            frame,
            features=["s"],
            prediction="p",
            sensitive_features="g",
            min_group_size=1,
            bounds={"s": {"psi_max": None}},
        )
    )
    assert len(result.metrics["selection_rate"]["by_group"]) == 3
    assert result.assertions[0].expected == {"warn_above": 0.1, "max": 0.25}  # psi_max null: the check's psi_block


def test_the_hash_of_a_policy_with_keys_of_mixed_types():
    from airflow_alignment.policy import canonical_sha256, load_policy

    raw = {
        "name": "x",
        "version": "1",
        "checks": [
            {
                "name": "q",
                "kind": "expectations",
                "data": {"path": "d.csv", "read_options": {1: "a", "sep": ";"}},
                "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}}],
            }
        ],
    }
    assert load_policy(raw).sha256 == canonical_sha256(raw)
    assert canonical_sha256({"a": {1: 2}}) == canonical_sha256({"a": {"1": 2}})  # as JSON writes the key


def test_a_categorical_feature_bool_on_one_side_and_numbers_on_the_other_counts_each_row_once():
    reference, current = pd.DataFrame({"p": [False, True, True]}), pd.DataFrame({"p": [1, 0, 7]})
    report = checked(drift.evaluate(reference, current, categorical=["p"])).metrics["features"]["p"]
    assert [(b["bin"], b["current"]) for b in report["bins"]] == [("False", 1), ("True", 1), ("(new)", 1)]
    with pytest.raises(SpecError, match=r"^prediction: expected a column name \(a non-empty string\), got ''$"):
        drift.validate_spec(prediction="")
