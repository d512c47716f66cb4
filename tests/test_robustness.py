"""Property-based robustness of the public entry points (issue 13): every engine's ``evaluate``,
the gate's ``decide`` and ``load_policy``, on hostile input drawn by hypothesis.

The property, for every drawn call: it returns a valid ``CheckResult`` (the JSON Schema and
its round trip, :func:`tests.conftest.checked`) or raises one of our documented errors
(``SpecError``, ``DataError``; see ``airflow_alignment/exceptions.py``) whose message names the
offending argument, column or key; never another exception type, never a hang (each call runs
under a deadline), never more than a bounded amount of memory (the peak RSS of each call is
measured). Operators and the plugin's routes are in ``tests/test_robustness_operators.py``.

Hostile shapes: empty frames, one row, all-missing columns, ``inf``, duplicate and non-string
column names, unicode and control characters in names and values, mixed dtypes, booleans,
labels outside the declared set, scores outside [0, 1], absurd numeric options; the
100,000-group case runs once per engine (it is too slow to draw hundreds of times).

Examples per test come from a hypothesis profile: ``robustness`` (CI: fixed seed, the whole
suite within 3 minutes on 2 cores) or ``robustness-long`` (ten times as many, random), chosen
by ``ALIGNMENT_ROBUSTNESS_PROFILE``. ``pytest --hypothesis-show-statistics`` prints how many
examples ran.
"""

from __future__ import annotations

import os
import signal
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_alignment.exceptions import DataError, SpecError
from tests.conftest import checked

settings.register_profile(
    "robustness",
    max_examples=100,  # the scale of every test's examples (see examples())
    deadline=timedelta(seconds=30),
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
)
settings.register_profile(
    "robustness-long", parent=settings.get_profile("robustness"), max_examples=1000, derandomize=False
)
PROFILE = settings.get_profile(os.environ.get("ALIGNMENT_ROBUSTNESS_PROFILE", "robustness"))

# A call that takes longer is a hang; one whose peak RSS grows more is unbounded.
HANG_SECONDS = 60
MEMORY_MB = 600


def examples(n: int) -> settings:
    """The profile, with ``n`` examples in CI (``robustness``: max_examples 100) and as many
    times more as the profile's max_examples is larger."""
    return settings(PROFILE, max_examples=max(1, n * PROFILE.max_examples // 100))


# -- the bounds ----------------------------------------------------------------------------
class Hang(BaseException):
    """Raised in the test's thread when a call outlives :data:`HANG_SECONDS` (a BaseException,
    so no ``except Exception`` in the code under test swallows it)."""


def _peak_rss_kb() -> int | None:
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return None


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # resets VmHWM to the current RSS (Linux 4.0+)
        return True
    except OSError:
        return False


class Budget:
    """Run a block under a deadline and measure its peak memory: RSS when the kernel lets us
    reset the high-water mark, else the Python allocations (tracemalloc)."""

    def __init__(self, seconds: float = HANG_SECONDS, megabytes: float = MEMORY_MB) -> None:
        self.seconds, self.megabytes = seconds, megabytes

    def __enter__(self) -> Budget:
        self.rss = _reset_peak_rss()
        self.before = _peak_rss_kb() if self.rss else None
        if not self.rss:
            tracemalloc.start()
        signal.signal(signal.SIGALRM, self._alarm)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        self.t0 = time.perf_counter()
        return self

    def _alarm(self, *_: Any) -> None:
        raise Hang(f"the call did not finish within {self.seconds} s")

    def __exit__(self, *exc: Any) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if self.rss:
            grown = ((_peak_rss_kb() or 0) - (self.before or 0)) / 1024
        else:
            grown = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
        self.seconds_taken = time.perf_counter() - self.t0
        assert grown <= self.megabytes, f"the call grew memory by {grown:.0f} MB (bound {self.megabytes} MB)"


# -- outcomes ------------------------------------------------------------------------------
# Words that name the data itself (an empty or unreadable dataset is not one column's fault).
DATA_WORDS = ("the data", "the dataset", "the reference", "the current data", "sensitive feature")


def mentions(kwargs: dict[str, Any], columns: Iterable[Any] = ()) -> list[str]:
    """What a message may name: the arguments given and the columns of the data."""
    names = [str(k) for k in kwargs] + list(DATA_WORDS)
    for column in columns:
        names += [repr(column), str(column)] if str(column) else [repr(column)]
    return names


# What the examples came to, by test: result statuses and error types (printed at the end).
OUTCOMES: dict[str, Counter[str]] = defaultdict(Counter)


def judged(call: Callable[[], Any], names: list[str], *, errors: tuple[type, ...] = (SpecError, DataError)) -> Any:
    """The property: a valid CheckResult, or one of our errors naming what is wrong."""
    with Budget():
        try:
            outcome = call()
        except errors as exc:
            outcome = exc
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split("::")[-1].split(" ")[0]
    if isinstance(outcome, BaseException):
        message = str(outcome)
        OUTCOMES[test][type(outcome).__name__] += 1
        if os.environ.get("ROBUST_DEBUG"):
            print("MSG", type(outcome).__name__, message[:90])
        assert message and any(name in message for name in names if name), (
            f"{type(outcome).__name__} names none of {names}: {message}"
        )
        return outcome
    OUTCOMES[test][outcome.status] += 1
    checked(outcome)
    return outcome


def report_outcomes(request: pytest.FixtureRequest) -> None:
    """One line per test: how many examples ran and what they came to."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    for test, counts in sorted(OUTCOMES.items()):
        line = f"robustness {test}: {sum(counts.values())} examples: " + ", ".join(
            f"{k} {v}" for k, v in counts.most_common()
        )
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line(line)
    OUTCOMES.clear()


# -- hostile frames ------------------------------------------------------------------------
NAMES: list[Any] = [
    "y",
    "p",
    "g",
    "h",
    "s",
    "w",
    "x",
    "y",
    "é 名",
    "a\x00b",
    "<img src=x onerror=alert(1)>",
    "",
    " ",
    "\n",
    0,
    1.5,
    True,
    None,
]
KINDS = (
    "label",
    "label",
    "label3",
    "bool",
    "yesno",
    "float",
    "score",
    "score",
    "wide_score",
    "big_int",
    "text",
    "mixed",
    "equal_mixed",
    "missing",
    "category",
    "unique",
    "when",
)
TEXTS = np.array(
    ["a", "é", "名前", "\x00", "\n\r\t", "<script>alert(1)</script>", "\u202erlt", "", " ", "😀", "x" * 300],
    dtype=object,
)
MIXED = np.array([1, 1.5, "1", None, "x", float("nan"), b"bytes", (1, 2)], dtype=object)
EQUAL_MIXED = np.array([1, 1.0, True, 0, False, 0.0], dtype=object)
SIZES = (0, 1, 2, 3, 40, 120, 120, 400, 400, 400)


def column(kind: str, n: int, rng: np.random.Generator) -> Any:
    if kind == "label":
        return rng.integers(0, 2, n)
    if kind == "label3":
        return rng.integers(0, 3, n)
    if kind == "bool":
        return rng.integers(0, 2, n).astype(bool)
    if kind == "yesno":
        return np.array(["yes", "no"], dtype=object)[rng.integers(0, 2, n)]
    if kind == "float":
        values = rng.normal(size=n)
        values[rng.random(n) < 0.1] = np.nan
        values[rng.random(n) < 0.1] = np.inf
        values[rng.random(n) < 0.05] = -np.inf
        return values
    if kind == "score":
        return rng.random(n)
    if kind == "wide_score":
        return rng.normal(0, 5, n)
    if kind == "big_int":
        return rng.integers(-(2**62), 2**62, n)
    if kind == "text":
        return TEXTS[rng.integers(0, len(TEXTS), n)]
    if kind == "mixed":
        return MIXED[rng.integers(0, len(MIXED), n)]
    if kind == "equal_mixed":
        return EQUAL_MIXED[rng.integers(0, len(EQUAL_MIXED), n)]
    if kind == "missing":
        return np.full(n, None, dtype=object) if rng.random() < 0.5 else np.full(n, np.nan)
    if kind == "category":
        return pd.Categorical(TEXTS[rng.integers(0, 4, n)], categories=list(TEXTS[:6]))
    if kind == "unique":
        return np.array([f"id{i}" for i in range(n)], dtype=object)
    return pd.date_range("2026-01-01", periods=n, freq="h").to_numpy()


@st.composite
def frames(draw: Any, names: list[Any] | None = None, roles: dict[str, tuple[str, ...]] | None = None) -> Any:
    """A frame of hostile shape: its size, column names (duplicated, not strings, unicode and
    control characters) and column kinds are drawn; the values come from a drawn seed.

    ``roles``: columns to include, each with the kinds it is drawn from (their first kind is
    the expected one and the most likely), before any extra hostile columns.
    """
    n = draw(st.sampled_from(SIZES))
    chosen, kinds = [], []
    for name, options in (roles or {}).items():
        chosen.append(name)
        kinds.append(draw(st.sampled_from((options[0],) * (3 * len(options)) + options)))  # 3 in 4: expected
    size = draw(st.sampled_from([0, 0, 0, 1, 2] if roles else [1, 2, 3, 4, 6]))
    extra = [draw(st.sampled_from(NAMES)) for _ in range(size)]
    chosen += names or extra
    kinds += [draw(st.sampled_from(KINDS)) for _ in (names or extra)]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    frame = pd.DataFrame({i: column(kind, n, rng) for i, kind in enumerate(kinds)})
    frame.columns = list(chosen)
    return frame


# The roles of a labelled frame: y (labels), p (predicted labels), s (scores), g and h
# (sensitive features), w (weights); each drawn from its expected kind or a hostile one.
LABELLED = {
    "y": ("label", "bool", "yesno", "label3", "missing", "mixed", "score"),
    "p": ("label", "bool", "yesno", "score", "label3", "missing", "text"),
    "s": ("score", "wide_score", "float", "missing", "text"),
    "g": ("yesno", "text", "category", "equal_mixed", "mixed", "bool", "unique", "missing", "float", "when"),
    "h": ("label", "text", "unique", "missing"),
    "w": ("score", "float", "wide_score", "missing", "label"),
}


class Options:
    """Draws an example's arguments: every one from its valid values, except (in most
    examples) one drawn from its hostile values, so each argument is tried alone."""

    def __init__(self, data: st.DataObject, names: list[str]) -> None:
        self.data = data
        # None (no hostile argument) in half of the examples
        self.hostile = data.draw(st.sampled_from([None] * len(names) + names), label="hostile argument")

    def __call__(self, name: str, valid: list[Any], hostile: list[Any]) -> Any:
        pool = hostile if name == self.hostile else valid
        return self.data.draw(st.sampled_from(pool), label=name)


COLUMNS_HOSTILE = ["nope", 0, None, "", ["y"], 1.5]
LABELS = [1, 0, "yes", True, 2.5, None, [1], float("nan")]
COUNTS = [1, 2, 30, 0, -1, 10**12, 2.5, True, "10", None]
FRACTIONS = [None, 0.9, 0.95, 0.0, 1.0, 1.5, -0.1, float("nan"), float("inf"), "0.9"]
THRESHOLDS = [None, 0.5, 0.0, float("nan"), float("inf"), -3, "0.5", True]
SEEDS = [0, 1, None, -1, 2**70, 1.5, "x"]
FAIR_CONSTRAINTS = [
    [{"metric": "demographic_parity_ratio", "min": 0.8}],
    [
        {"metric": "equalized_odds_difference", "max": 0.1},
        {"metric": "selection_rate", "aggregate": "per_group", "min": 0.1},
    ],
    [
        {
            "metric": "true_positive_rate",
            "aggregate": "ratio",
            "method": "to_overall",
            "min": 0.8,
            "decide_on": "conservative",
        }
    ],
    [{"metric": "roc_auc", "aggregate": "difference", "max": 0.1}],
    [{"metric": "count", "aggregate": "group_min", "min": 5}],
    [{"metric": "demographic_parity_ratio", "min": float("nan")}],
    [{"metric": "nope", "min": 1}],
    [{"metric": "demographic_parity_ratio", "min": 0.8, "baseline": {"max_decrease": 0.1}}],
    [],
    "[]",
    None,
    {"metric": "x"},
    [None],
    [{"metric": "demographic_parity_ratio", "min": 2}],
]
PERF_CONSTRAINTS = [
    [{"metric": "accuracy", "min": 0.5}],
    [{"metric": "roc_auc", "min": 0.5}, {"metric": "log_loss", "max": 2}],
    [{"metric": "precision", "min": 0.1, "decide_on": "significant"}, {"metric": "brier_score", "max": 0.3}],
    [{"metric": "recall", "baseline": {"max_decrease": 0.1}}],
    [{"metric": "accuracy", "min": "high"}],
    [{"metric": "demographic_parity_ratio", "min": 0.8}],
    [],
    None,
]


@pytest.fixture(scope="module", autouse=True)
def warm(request: pytest.FixtureRequest) -> Iterator[None]:
    """Imports and caches that the first call of each engine pays (GX alone takes seconds);
    at the end, what the examples came to."""
    from airflow_alignment.engines import expectations, fairness

    df = pd.DataFrame({"y": [0, 1] * 20, "s": [0.2, 0.7] * 20, "g": ["a", "b"] * 20})
    expectations.evaluate(df, expectations=[{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "y"}}])
    fairness.evaluate(
        df,
        y_true="y",
        y_score="s",
        threshold=0.5,
        sensitive_features="g",
        min_group_size=1,
        constraints=[{"metric": "roc_auc", "aggregate": "difference", "max": 1}],
    )
    yield
    report_outcomes(request)


# -- engines -------------------------------------------------------------------------------
FAIRNESS_ARGS = [
    "y_true",
    "y_pred",
    "y_score",
    "threshold",
    "sensitive_features",
    "constraints",
    "pos_label",
    "min_group_size",
    "confidence",
    "n_boot",
    "marginal",
    "sample_weight",
    "missing_groups",
    "random_state",
    "decide_on",
]


def labelled_arguments(frame: pd.DataFrame, options: Options, *, fairness: bool) -> dict[str, Any]:
    scored = options.data.draw(st.booleans(), label="scored")
    kwargs = {
        "y_true": options("y_true", ["y"], COLUMNS_HOSTILE),
        "constraints": options(
            "constraints",
            (FAIR_CONSTRAINTS if fairness else PERF_CONSTRAINTS)[:4],
            FAIR_CONSTRAINTS[4:] if fairness else PERF_CONSTRAINTS[4:],
        ),
        "pos_label": options("pos_label", [1, 1, "yes", True], LABELS),
        "confidence": options("confidence", [None, None, 0.9], FRACTIONS),
        "n_boot": options("n_boot", [1, 20, 200], COUNTS),
        "sample_weight": options("sample_weight", [None, None, "w"], [*COLUMNS_HOSTILE, "y"]),
        "random_state": options("random_state", [0, 1, None], SEEDS),
        "decide_on": options("decide_on", ["estimate"], ["conservative", "significant", "nope", None]),
    }
    if scored:
        kwargs["y_score"] = options("y_score", ["s"], [*COLUMNS_HOSTILE, "y", "g"])
        kwargs["threshold"] = options("threshold", [0.5, 0.3], THRESHOLDS)
    else:
        kwargs["y_pred"] = options("y_pred", ["p"], [*COLUMNS_HOSTILE, "s", "y"])
        kwargs["threshold"] = options("threshold", [None], [0.5, float("nan")])
    if fairness:
        kwargs["sensitive_features"] = options(
            "sensitive_features", ["g", ["g", "h"], "h"], [*COLUMNS_HOSTILE, [], ["g", "g"], ["g", 0], "y"]
        )
        kwargs["min_group_size"] = options("min_group_size", [1, 5, 30], COUNTS)
        kwargs["marginal"] = options("marginal", [False, True], ["yes", None, 1])
        kwargs["missing_groups"] = options("missing_groups", ["error", "drop", "as_group"], ["nope", None, 1])
    return kwargs


@examples(600)
@given(frame=frames(roles=LABELLED), data=st.data())
def test_fairness_evaluate(frame: pd.DataFrame, data: st.DataObject) -> None:
    from airflow_alignment.engines.fairness import evaluate

    kwargs = labelled_arguments(frame, Options(data, FAIRNESS_ARGS), fairness=True)
    judged(lambda: evaluate(frame, **kwargs), mentions(kwargs, frame.columns))


@examples(200)
@given(frame=frames(roles=LABELLED), data=st.data())
def test_fairness_evaluate_on_cells(frame: pd.DataFrame, data: st.DataObject) -> None:
    """The cell-table path: counted first (as a file read in batches is), then judged."""
    from airflow_alignment.engines.binary import cells
    from airflow_alignment.engines.fairness import evaluate

    kwargs = labelled_arguments(frame, Options(data, FAIRNESS_ARGS), fairness=True)
    kwargs["constraints"] = FAIR_CONSTRAINTS[0]

    def call() -> Any:
        features = kwargs["sensitive_features"]
        table = cells.from_frame(
            frame,
            features=[features] if isinstance(features, str) else features,
            **{k: kwargs.get(k) for k in ("y_true", "y_pred", "y_score", "threshold", "sample_weight")},
        )
        return evaluate(table, **kwargs)

    judged(call, [*mentions(kwargs, frame.columns), "features"])


@examples(400)
@given(frame=frames(roles=LABELLED), data=st.data())
def test_performance_evaluate(frame: pd.DataFrame, data: st.DataObject) -> None:
    from airflow_alignment.engines.performance import evaluate

    kwargs = labelled_arguments(frame, Options(data, FAIRNESS_ARGS), fairness=False)
    judged(lambda: evaluate(frame, **kwargs), mentions(kwargs, frame.columns))


DRIFT = {
    "x": ("float", "score", "wide_score", "big_int", "missing", "text", "mixed", "bool", "when"),
    "c": ("yesno", "text", "category", "equal_mixed", "mixed", "unique", "missing"),
    "p": LABELLED["p"],
    "g": LABELLED["g"],
}
DRIFT_ARGS = [
    "features",
    "categorical",
    "exclude",
    "bins",
    "psi_warn",
    "psi_block",
    "ks_alpha",
    "chi2_alpha",
    "bounds",
    "prediction",
    "sensitive_features",
    "pos_label",
    "threshold",
    "selection_rate_max_change",
    "min_group_size",
    "severity",
]


@examples(400)
@given(reference=frames(roles=DRIFT), data=st.data())
def test_drift_evaluate(reference: pd.DataFrame, data: st.DataObject) -> None:
    from airflow_alignment.engines.drift import evaluate

    current = data.draw(st.one_of(st.just(reference), frames(roles=DRIFT), frames()), label="current")
    options = Options(data, DRIFT_ARGS)
    names = [None, ["x"], ["x", "c"], "c"]
    hostile_names = [0, [0], "nope", ["x", None], {"x": 1}]
    kwargs = {
        "features": options("features", names, hostile_names),
        "categorical": options("categorical", [None, ["c"], "x"], hostile_names),
        "exclude": options("exclude", [None, ["g"]], hostile_names),
        "bins": options("bins", [10, 3], [2, 1, 0, 10**9, 2.5, "10", None]),
        "psi_warn": options("psi_warn", [0.1], [0.0, -1, float("nan"), "x", 0.3]),
        "psi_block": options("psi_block", [0.25], [0.05, float("inf"), -1]),
        "ks_alpha": options("ks_alpha", [None, 0.05], FRACTIONS),
        "chi2_alpha": options("chi2_alpha", [None, 0.05], FRACTIONS),
        "bounds": options(
            "bounds",
            [None, {"x": {"psi_max": 0.2, "rationale": "why"}}],
            [{"nope": {}}, {"x": "x"}, [1], {"x": {"psi_max": -1}}, {0: {}}],
        ),
        "prediction": options("prediction", [None, "p"], COLUMNS_HOSTILE),
        "sensitive_features": options("sensitive_features", [None, "g"], [*COLUMNS_HOSTILE, ["g", "g"]]),
        "pos_label": options("pos_label", [1], LABELS),
        "threshold": options("threshold", [None, 0.5], THRESHOLDS),
        "selection_rate_max_change": options("selection_rate_max_change", [0.05], [-1, float("nan"), "x"]),
        "min_group_size": options("min_group_size", [1, 30], COUNTS),
        "severity": options("severity", ["block", "warn"], ["fatal", None, 1]),
    }
    if kwargs["sensitive_features"] is not None and kwargs["prediction"] is None:
        kwargs["prediction"] = "p"
    judged(lambda: evaluate(reference, current, **kwargs), mentions(kwargs, [*reference.columns, *current.columns]))


EXPECTATIONS = [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "y"}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "y", "min_value": 0, "max_value": 1}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "g", "value_set": ["a", "é", 1]}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "h"}},
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "g", "regex": "^a"}},
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1, "max_value": 10**12}},
    {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "s", "min_value": 0, "max_value": 1}},
    {"type": "expect_column_to_exist", "kwargs": {"column": "é 名"}},
]
HOSTILE_EXPECTATIONS = [
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "y", "min_value": "a"}},
    {"type": "expect_nothing_at_all", "kwargs": {}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": 0}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "nope"}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "y"}, "severity": "fatal"},
    {"kwargs": {"column": "y"}},
]


@examples(60)
@given(frame=frames(roles=LABELLED), data=st.data())
def test_expectations_evaluate(frame: pd.DataFrame, data: st.DataObject) -> None:
    from airflow_alignment.engines.expectations import evaluate

    options = Options(data, ["expectations", "severity"])
    valid = [[e] for e in EXPECTATIONS] + [EXPECTATIONS[:4], EXPECTATIONS[4:]]
    kwargs = {
        "expectations": options("expectations", valid, [[e] for e in HOSTILE_EXPECTATIONS] + [[], None, "x", [1]]),
        "severity": options("severity", ["block", "warn", "warning"], ["fatal", None, 1]),
    }
    names = mentions(kwargs, frame.columns) + [f"expectations[{i}]" for i in range(4)]
    judged(lambda: evaluate(frame, **kwargs), names)


RESULT_DOCUMENT = st.fixed_dictionaries(
    {},
    optional={
        "check": st.one_of(st.text(max_size=20), st.integers(), st.none()),
        "status": st.sampled_from(["passed", "warned", "failed", "error", "weird", "", None, 3]),
        "severity": st.sampled_from(["block", "warn", "fatal", None, []]),
        "summary": st.one_of(st.text(max_size=40), st.none(), st.integers()),
        "policy": st.sampled_from([None, {"name": "p", "version": "1", "sha256": "a" * 64}, {"name": "q"}, "p", []]),
        "full_result": st.one_of(st.none(), st.text(max_size=20), st.integers()),
        "report": st.one_of(st.none(), st.text(max_size=20)),
    },
)
FINDINGS = st.one_of(
    st.none(),
    RESULT_DOCUMENT,
    RESULT_DOCUMENT,
    RESULT_DOCUMENT,
    st.sampled_from([[], "passed", 3, {"schema": "other"}]),
)


@examples(400)
@given(
    results=st.lists(st.tuples(st.text(min_size=0, max_size=12), FINDINGS), max_size=6),
    review=st.booleans(),
    model=st.one_of(st.none(), st.text(max_size=10), st.integers()),
)
def test_gate_decide(results: list[tuple[str, Any]], review: bool, model: Any) -> None:
    from airflow_alignment.engines.gate import decide, finding

    def call() -> Any:
        return decide([finding(task_id, result) for task_id, result in results], review=review, model=model)

    outcome = judged(call, ["checks", "result", "model", "gate", *(t for t, _ in results)])
    if not isinstance(outcome, BaseException):
        assert outcome.metrics["verdict"] in ("approved", "needs_review", "rejected")
        blocking = [r for _, r in results if not isinstance(r, dict) or r.get("status") != "passed"]
        assert outcome.metrics["verdict"] != "approved" or not blocking or not review


# -- policies ------------------------------------------------------------------------------
VALID_POLICY: dict[str, Any] = {
    "name": "lending",
    "version": "1.0",
    "owner": "risk",
    "description": "fair credit",
    "references": ["ECOA"],
    "defaults": {"severity": "block", "min_group_size": 30},
    "checks": [
        {
            "name": "quality",
            "kind": "expectations",
            "data": "a.csv",
            "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "age"}}],
        },
        {
            "name": "fairness",
            "kind": "fairness",
            "data": {"conn_id": "wh", "table": "t"},
            "y_true": "y",
            "y_pred": "p",
            "sensitive_features": ["sex"],
            "constraints": [{"metric": "demographic_parity_ratio", "min": 0.8}],
        },
        {
            "name": "drift",
            "kind": "drift",
            "data": "b.parquet",
            "reference": "a.parquet",
            "bins": 10,
            "bounds": {"income": {"psi_max": 0.2}},
        },
        {
            "name": "perf",
            "kind": "performance",
            "data": "c.csv",
            "y_true": "y",
            "y_score": "s",
            "threshold": 0.5,
            "constraints": [{"metric": "roc_auc", "min": 0.7}],
            "n_boot": 100,
            "confidence": 0.9,
        },
    ],
}
HOSTILE_VALUES = [
    None,
    "",
    "..",
    "x" * 5000,
    "\x00\x1b[31m",
    "名前",
    -1,
    10**30,
    2.5,
    float("nan"),
    float("inf"),
    True,
    [],
    {},
    [None],
    {"a": {"b": {"c": [1, {"d": None}]}}},
    {"<<": "x"},
    "{{ ds }}",
]


def paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*here, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, (*here, i))
    return out


@st.composite
def policies(draw: Any) -> Any:
    """A valid policy with a few values replaced, keys added or removed; as a dict, as YAML
    text, or as YAML text with a textual mutation (anchors, aliases, duplicate keys, nesting,
    tabs, binary)."""
    import copy

    import yaml

    raw = copy.deepcopy(VALID_POLICY)
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from(paths(raw)[1:]))
        parent = raw
        for key in target[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            parent[target[-1]] = copy.deepcopy(draw(st.sampled_from(HOSTILE_VALUES)))
        elif action == "delete":
            del parent[target[-1]]
        elif isinstance(parent, dict):
            key = draw(st.sampled_from(["extra", "descripton", 1, None, "é"]))
            parent[key] = copy.deepcopy(draw(st.sampled_from(HOSTILE_VALUES)))
        if not isinstance(raw, dict):
            break
    form = draw(st.sampled_from(["dict", "yaml", "yaml", "text"]))
    if form == "dict":
        return raw
    text = yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)
    if form == "yaml":
        return text
    mutation = draw(
        st.sampled_from(["anchor", "laughs", "cycle", "dup", "nest", "tab", "binary", "version", "truncate", "garbage"])
    )
    if mutation == "anchor":
        return text.replace("owner: risk", "owner: &o risk\nextra_owner: *o", 1)
    if mutation == "laughs":
        fan = draw(st.sampled_from([2, 10]))
        lines = [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fan)}]" for i in range(1, draw(st.integers(1, 9)))]
        return text + "l0: &l0 [lol]\n" + "\n".join(lines) + "\n"
    if mutation == "cycle":
        return text + "loop: &loop {self: *loop}\n"
    if mutation == "dup":
        return text + "name: other\n"
    if mutation == "nest":
        depth = draw(st.sampled_from([10, 40, 5000]))
        return text + "extra: " + "[" * depth + "]" * depth + "\n"
    if mutation == "tab":
        return text.replace("  ", "\t", 3)
    if mutation == "binary":
        return text.encode("utf-8") + draw(st.binary(max_size=8))
    if mutation == "version":
        return text.replace("version: '1.0'", f"version: {draw(st.sampled_from(['1.10', '1e3', 'true', '[1]']))}")
    if mutation == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    return draw(st.text(max_size=200)) + "\n" + text


POLICY_MESSAGE = r"^(policy\b|[^\s:]+:)"


@examples(600)
@given(policy=policies())
def test_load_policy(policy: Any) -> None:
    import re

    from airflow_alignment.policy import Policy, load_policy

    with Budget(seconds=HANG_SECONDS, megabytes=100):
        try:
            loaded = load_policy(policy)
        except SpecError as exc:
            OUTCOMES["test_load_policy"]["SpecError"] += 1
            assert re.match(POLICY_MESSAGE, str(exc)), f"a policy error must start with its key path: {exc}"
            return
    OUTCOMES["test_load_policy"]["loaded"] += 1
    assert isinstance(loaded, Policy) and isinstance(loaded.version, str) and len(loaded.sha256) == 64
    assert all(c.name and not set(c.name) <= {"."} for c in loaded.checks)


# -- the 100,000-group case, once per engine -----------------------------------------------
@pytest.fixture(scope="module")
def wide() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 100_001
    return pd.DataFrame(
        {
            "y": rng.integers(0, 2, n),
            "p": rng.integers(0, 2, n),
            "s": rng.random(n),
            "id": [f"c{i}" for i in range(n)],
            "x": rng.normal(size=n),
        }
    )


@pytest.mark.parametrize(
    "engine", ["fairness", "fairness_cells", "performance", "drift", "drift_groups", "expectations"]
)
def test_one_hundred_thousand_groups(wide: pd.DataFrame, engine: str) -> None:
    from airflow_alignment.engines import drift, expectations, fairness, performance
    from airflow_alignment.engines.binary import cells

    dp = [{"metric": "demographic_parity_ratio", "min": 0.8}]
    calls: dict[str, Callable[[], Any]] = {
        "fairness": lambda: fairness.evaluate(
            wide, y_true="y", y_pred="p", sensitive_features="id", constraints=dp, confidence=0.9, n_boot=1000
        ),
        "fairness_cells": lambda: fairness.evaluate(
            cells.from_frame(wide, features=["id"], y_true="y", y_pred="p"),
            y_true="y",
            y_pred="p",
            sensitive_features="id",
            constraints=dp,
        ),
        "performance": lambda: performance.evaluate(
            wide,
            y_true="y",
            y_score="s",
            threshold=0.5,
            confidence=0.9,
            constraints=[{"metric": "roc_auc", "min": 0.4}],
        ),
        "drift": lambda: drift.evaluate(wide, wide.sample(frac=1.0, random_state=1), categorical=["id"]),
        "drift_groups": lambda: drift.evaluate(wide, wide, features=["x"], prediction="p", sensitive_features="id"),
        "expectations": lambda: expectations.evaluate(
            wide,
            expectations=[
                {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
                {"type": "expect_column_distinct_values_to_be_in_set", "kwargs": {"column": "id", "value_set": ["c1"]}},
            ],
        ),
    }
    outcome = judged(calls[engine], ["sensitive feature 'id'", "sensitive_features ['id']"])
    if engine.startswith("fairness") or engine == "drift_groups":
        assert isinstance(outcome, DataError) and "more than 10,000" in str(outcome)
    else:
        assert not isinstance(outcome, BaseException), outcome


def test_the_budget_catches_a_hang_and_a_memory_blowup() -> None:
    """The bounds of every example can fail: a call that hangs is stopped, one that grows
    memory past the bound fails the property."""
    with pytest.raises(Hang), Budget(seconds=0.2):
        time.sleep(5)
    with pytest.raises(AssertionError, match=r"grew memory by \d+ MB \(bound 50 MB\)"), Budget(megabytes=50):
        blob = np.ones(200 * 1024 * 1024 // 8)  # 200 MB, touched
        del blob
    with Budget(megabytes=50):
        np.ones(1024)
