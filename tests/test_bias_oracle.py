"""The bias metrics against the libraries that define them: smclarify 0.5 and aif360 0.6.1.

The libraries run in their own venv (.venv-reference, built by scripts/reference-venvs.sh:
smclarify does not run on the pandas 3 of .venv) through one subprocess for all the cases
(tests/reference/oracle.py), on the same rows written to Parquet. Random cases come from a
seeded loop (binary, multi-class and continuous labels; one or two facets; strata; integer
weights, which the unweighted Clarify sees as repeated rows; empty groups and one-class
groups happen by design), then hand-made edge cases.

Where both give a number they agree to 1e-12. Where ours is ``None``, the library's answer
is the one its documented convention gives (``docs/bias-metrics.md``): it raised, or it divided by
zero its own way (Clarify: 0/0 = 0, x/0 = inf; AIF360: 0 for an empty precision, numpy's
nan/inf elsewhere), which :func:`_clarify_rate` / :func:`_aif360_rate` recompute.
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.engines.bias import counts as bias_counts
from airflow_alignment.engines.bias import formulas as bf
from airflow_alignment.engines.bias import metrics as bias_metrics
from airflow_alignment.specs import bias_metrics as catalogue
from airflow_alignment.specs.bias_metrics import BiasValue

ROOT = Path(__file__).resolve().parents[1]
TOL = 1e-12
P_VALUES = [2.0, 1.0, 3.0, 1.5]
ALPHAS = [2.0, 3.0, 0.5, 1.0, 0.0, -1.0]
CONCENTRATIONS = [1.0, 0.0, 2.5]
CLARIFY_POST_RATES = {  # Clarify metric -> (its rate, combination) as common.py computes them
    name: bf.RATE_COMPARISONS[name] for name in ("DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "TE")
}


@pytest.fixture(scope="session")
def reference_python() -> Path:
    """The python of .venv-reference, built (or found up to date) by scripts/reference-venvs.sh.

    scripts/test.sh builds it before the suite and stops when it cannot, so in CI the oracle
    always runs; a bare pytest run without PyPI access skips here, saying why."""
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "reference-venvs.sh")], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(
            f"cannot build .venv-reference (bash scripts/reference-venvs.sh failed; it needs PyPI):\n"
            f"{proc.stderr[-2000:]}"
        )
    return Path(proc.stdout.strip().splitlines()[-1])


@dataclass
class Case:
    id: str
    df: pd.DataFrame
    facets: list[str]
    facet_values: list[dict[str, Any]] | None  # None: one-vs-rest
    positive_labels: list[Any] | None = None
    threshold: float | None = None
    strata: bool = True
    weights: bool = False
    aif360: bool = True

    def __post_init__(self) -> None:
        if self.positive_labels is None and self.threshold is None:
            self.positive_labels = ["yes"]  # the edge cases' labels are "yes" / "no"

    def counts(self) -> bias_counts.BiasCounts:
        return bias_counts.from_frame(
            self.df,
            facets=self.facets,
            label="y",
            prediction="p",
            group_variable="g" if self.strata else None,
            sample_weight="w" if self.weights else None,
            positive_labels=self.positive_labels,
            label_threshold=self.threshold,
        )

    @property
    def facet_threshold(self) -> float | None:
        """The threshold of a continuous facet, ``[{"age": {"above": t}}]`` (Clarify: ``[t]``)."""
        if self.facet_values and isinstance(self.facet_values[0][self.facets[0]], dict):
            return float(self.facet_values[0][self.facets[0]]["above"])
        return None

    def spec(self) -> dict[str, Any]:
        joined = (
            None if self.facet_values is None else ["|".join(str(v[f]) for f in self.facets) for v in self.facet_values]
        )
        if self.facet_threshold is not None:
            joined = [self.facet_threshold]
        categorical = ["y", "p"] if self.threshold is None else []
        return {
            "id": self.id,
            "file": f"{self.id}.parquet",
            "clarify_facet_values": joined,
            "label_values": self.positive_labels if self.threshold is None else [self.threshold],
            "strata": self.strata,
            "weights": self.weights,
            "aif360": self.aif360 and self.facet_values is not None,
            "categorical": categorical,
            "facet_threshold": self.facet_threshold is not None,
            "p_values": P_VALUES,
            "alphas": ALPHAS,
            "concentrations": CONCENTRATIONS,
        }

    def frame(self) -> pd.DataFrame:
        """The rows as the oracle reads them (see tests/reference/oracle.py)."""
        df = self.df.copy()
        if self.facet_threshold is not None:
            df["facet"] = df[self.facets[0]].astype(float)
        else:
            df["facet"] = df[self.facets].astype(str).agg("|".join, axis=1)
        if self.facet_values is not None:
            rows = [{f: r[f] for f in self.facets} for r in df[self.facets].to_dict("records")]
            df["is_d"] = bias_counts.facet_mask(rows, self.facet_values, self.facets).astype(int)
        for f in self.facets:
            df[f"code_{f}"] = pd.factorize(df[f], sort=True)[0]
        if not self.weights:
            df["w"] = 1
        return df.drop(columns=self.facets)


# -- random cases ---------------------------------------------------------------------------
def _random_case(i: int, rng: np.random.Generator) -> Case:
    n = int(rng.choice([6, 25, 120, 400]))
    two = bool(rng.random() < 0.5)
    levels = {"f1": ["A", "B", "C"][: int(rng.integers(2, 4))], "f2": ["x", "y"]}
    facets = ["f1", "f2"] if two else ["f1"]
    df = pd.DataFrame({f: rng.choice(levels[f], n, p=_skewed(rng, len(levels[f]))) for f in facets})
    kind = rng.choice(["binary", "multi", "continuous"], p=[0.5, 0.3, 0.2])
    group_bias = {v: rng.random() for v in levels["f1"]}
    base = np.array([group_bias[v] for v in df["f1"]])
    if kind == "continuous":
        df["y"] = np.round(rng.normal(base, 0.5, n), 1)
        df["p"] = np.round(df["y"] + rng.normal(0, 0.4, n), 1)
        threshold, positive = float(np.round(rng.normal(0.5, 0.5), 1)), None
    else:
        classes = ["no", "yes"] if kind == "binary" else ["low", "mid", "high", "top"][: int(rng.integers(3, 5))]
        df["y"] = _draw(rng, classes, base)
        df["p"] = np.where(rng.random(n) < rng.choice([0.6, 0.9, 1.0]), df["y"], _draw(rng, classes, base))
        present = sorted(set(df["y"]))  # positive labels absent from the data are refused (a typo, likely)
        positive = (
            ["yes"]
            if kind == "binary"
            else [str(v) for v in rng.choice(present, int(rng.integers(1, max(2, len(present)))), replace=False)]
        )
        threshold = None
    df["g"] = rng.choice(["s1", "s2", "s3"][: int(rng.integers(1, 4))], n)
    weights = bool(rng.random() < 0.3)
    if weights:
        df["w"] = rng.choice([0, 1, 2, 3], n, p=[0.1, 0.4, 0.3, 0.2])
    combos = [dict(zip(facets, c, strict=True)) for c in itertools.product(*(levels[f] for f in facets))]
    picked = [combos[j] for j in rng.choice(len(combos), int(rng.integers(1, len(combos))), replace=False)]
    one_vs_rest = rng.random() < 0.1
    return Case(
        f"random_{i:03d}",
        df,
        facets,
        None if one_vs_rest else picked,
        positive,
        threshold,
        strata=bool(rng.random() < 0.8),
        weights=weights,
    )


def _skewed(rng: np.random.Generator, k: int) -> np.ndarray:
    p = rng.dirichlet(np.full(k, 0.7))
    return p / p.sum()


def _draw(rng: np.random.Generator, classes: list[str], base: np.ndarray) -> np.ndarray:
    scores = base[:, None] + rng.random((len(base), len(classes))) * rng.choice([0.5, 2.0])
    return np.asarray(classes)[
        scores.argmax(axis=1) if rng.random() < 0.5 else rng.integers(0, len(classes), len(base))
    ]


def _continuous_facet_case(i: int, rng: np.random.Generator) -> Case:
    """A numeric facet (age) cut at a threshold, as Clarify cuts a continuous facet: (t, max]."""
    n = int(rng.choice([25, 120, 400]))
    age = np.round(rng.normal(45, 12, n), 1)
    df = pd.DataFrame({"age": age, "g": rng.choice(["s1", "s2"], n)})
    df["y"] = np.where(rng.random(n) < 0.3 + 0.4 * (age < 40), "yes", "no")
    df["p"] = np.where(rng.random(n) < 0.8, df["y"], np.where(rng.random(n) < 0.5, "yes", "no"))
    weights = bool(rng.random() < 0.3)
    if weights:
        df["w"] = rng.choice([0, 1, 2], n, p=[0.1, 0.6, 0.3])
    threshold = float(rng.choice([40.0, 50.0, float(age[0])]))  # the last: a tie with a value
    return Case(f"continuous_facet_{i:02d}", df, ["age"], [{"age": {"above": threshold}}], weights=weights)


def _float_weight_case(i: int, seed: int) -> Case:
    """A random case with fractional weights (and some zeros): AIF360 reads them, Clarify has no
    weights (so it is not compared) and AIF360's entropy indexes ignore them (not compared)."""
    rng = np.random.default_rng(seed)
    case = _random_case(i, rng)
    while case.facet_values is None:
        case = _random_case(i, rng)
    case.df["w"] = np.where(rng.random(len(case.df)) < 0.1, 0.0, np.round(rng.gamma(2.0, 0.7, len(case.df)), 3))
    case.id, case.weights = f"float_weights_{i:02d}", True
    return case


# -- edge cases -----------------------------------------------------------------------------
def _edge_cases() -> list[Case]:
    def frame(
        f1: list[str], y: list[str], p: list[str], g: list[str] | None = None, w: list[int] | None = None
    ) -> pd.DataFrame:
        df = pd.DataFrame({"f1": f1, "y": y, "p": p, "g": g or ["s1"] * len(f1)})
        if w is not None:
            df["w"] = w
        return df

    a, d = ["A"] * 6, ["B"] * 4
    y = ["yes", "no", "yes", "no", "yes", "yes", "no", "yes", "no", "no"]
    p = ["yes", "yes", "no", "no", "yes", "no", "no", "no", "no", "yes"]
    return [
        # the facet names a group with no rows: every facet metric undefined, Clarify raises
        Case("edge_absent_facet", frame(a + d, y, p), ["f1"], [{"f1": "Z"}]),
        # every row in the facet: the rest is empty
        Case("edge_all_facet", frame(a + d, y, p), ["f1"], [{"f1": "A"}, {"f1": "B"}]),
        # one class only: no positive labels anywhere (DCA/RD/TE... undefined, DPL and CI defined)
        Case("edge_no_positive_label", frame(a + d, ["no"] * 10, p), ["f1"], [{"f1": "B"}]),
        # no predicted positive in the facet: DI's numerator 0, DAR and DCA undefined for d
        Case("edge_facet_never_predicted", frame(a + d, y, p[:6] + ["no"] * 4), ["f1"], [{"f1": "B"}]),
        # no predicted positive for the rest: DI divides by 0 (Clarify: inf)
        Case("edge_rest_never_predicted", frame(a + d, y, ["no"] * 6 + p[6:]), ["f1"], [{"f1": "B"}]),
        # every prediction is a false negative: the mean benefit is 0 (GE undefined)
        Case("edge_all_false_negative", frame(a + d, ["yes"] * 10, ["no"] * 10), ["f1"], [{"f1": "B"}]),
        # labels of one side only: the label distributions share no value
        Case("edge_disjoint_labels", frame(a + d, ["yes"] * 6 + ["no"] * 4, p), ["f1"], [{"f1": "B"}]),
        # a stratum without positives and one without negatives (Clarify's 0 shares)
        Case(
            "edge_one_class_strata",
            frame(a + d, y, p, ["s1", "s2", "s1", "s2", "s1", "s1", "s2", "s1", "s2", "s2"]),
            ["f1"],
            [{"f1": "B"}],
        ),
        Case(
            "edge_pure_strata",
            frame(
                a + d,
                ["yes", "yes", "no", "no", "yes", "no", "yes", "no", "yes", "no"],
                p,
                ["s1", "s1", "s2", "s2", "s1", "s2", "s1", "s2", "s1", "s2"],
            ),
            ["f1"],
            [{"f1": "B"}],
        ),
        # zero weights: the facet's rows all weigh 0 (it is empty), then half of the rest does
        Case(
            "edge_zero_weight_facet",
            frame(a + d, y, p, w=[1, 2, 1, 3, 1, 1, 0, 0, 0, 0]),
            ["f1"],
            [{"f1": "B"}],
            weights=True,
        ),
        Case(
            "edge_some_zero_weights",
            frame(a + d, y, p, w=[0, 2, 0, 3, 1, 0, 1, 0, 2, 1]),
            ["f1"],
            [{"f1": "B"}],
            weights=True,
        ),
        # a continuous label whose threshold equals a value (Clarify: (t, max], the value is negative)
        Case(
            "edge_threshold_tie",
            pd.DataFrame(
                {
                    "f1": a + d,
                    "y": [0.5, 1.0, 0.5, 0.2, 0.9, 0.5, 0.5, 0.7, 0.1, 0.5],
                    "p": [0.5, 0.6, 0.4, 0.5, 1.0, 0.5, 0.2, 0.5, 0.5, 0.8],
                    "g": ["s1"] * 10,
                }
            ),
            ["f1"],
            [{"f1": "B"}],
            threshold=0.5,
        ),
        # a threshold above every label: no positive at all
        Case(
            "edge_threshold_above_max",
            pd.DataFrame({"f1": a + d, "y": np.linspace(0, 1, 10), "p": np.linspace(0, 1, 10)[::-1], "g": ["s1"] * 10}),
            ["f1"],
            [{"f1": "B"}],
            threshold=2.0,
        ),
        # a continuous facet cut above its largest value: the facet is empty
        Case(
            "edge_facet_threshold_above_max",
            frame(a + d, y, p).assign(age=np.linspace(20.5, 65.5, 10)).drop(columns="f1"),
            ["age"],
            [{"age": {"above": 70.0}}],
        ),
    ]


CASES = (
    [_random_case(i, np.random.default_rng(1000 + i)) for i in range(160)]
    + [_continuous_facet_case(i, np.random.default_rng(2000 + i)) for i in range(16)]
    + [_float_weight_case(i, 3000 + i) for i in range(16)]
    + _edge_cases()
)


@pytest.fixture(scope="module")
def oracle(reference_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("bias-oracle")
    for case in CASES:
        case.frame().to_parquet(folder / f"{case.id}.parquet", index=False)
    (folder / "cases.json").write_text(json.dumps([c.spec() for c in CASES]))
    proc = subprocess.run(
        [str(reference_python), str(ROOT / "tests" / "reference" / "oracle.py"), str(folder)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads((folder / "results.json").read_text())


# -- comparison -----------------------------------------------------------------------------
ANY = object()  # the library reports a number of its own convention, documented in docs/bias-metrics.md
NOT_FINITE = object()  # the library reports inf or nan (a log of 0, a division by 0)


class Tally:
    def __init__(self) -> None:
        self.equal = 0
        self.worst = 0.0  # largest |ours - theirs| among the equal ones
        self.conventions: dict[str, int] = {}

    def agree(self, ours: BiasValue, theirs: Any, where: str, convention: Any = None) -> None:
        """``theirs`` equals ours, or ours is None and theirs is the library's answer there."""
        if ours.value is not None:
            assert isinstance(theirs, float) and math.isfinite(theirs), (
                f"{where}: ours {ours.value!r}, theirs {theirs!r}"
            )
            assert math.isclose(ours.value, theirs, rel_tol=TOL, abs_tol=TOL), (
                f"{where}: ours {ours.value!r}, theirs {theirs!r}"
            )
            self.equal += 1
            self.worst = max(self.worst, abs(ours.value - theirs))
            return
        assert ours.reason, f"{where}: undefined without a reason"
        if isinstance(theirs, dict):  # the library raised
            kind = "raised"
        else:
            expected = convention() if convention is not None else None
            assert expected is not None, f"{where}: ours undefined ({ours.reason}), theirs {theirs!r}"
            if expected is NOT_FINITE:
                assert not math.isfinite(theirs), f"{where}: ours undefined ({ours.reason}), theirs {theirs!r}"
            if callable(expected):
                assert expected(theirs), f"{where}: ours undefined ({ours.reason}), theirs {theirs!r}"
            assert expected in (ANY, NOT_FINITE) or callable(expected) or _same(theirs, expected), (
                f"{where}: ours undefined ({ours.reason}); theirs {theirs!r}, its convention gives {expected!r}"
            )
            kind = "convention"
        self.conventions[kind] = self.conventions.get(kind, 0) + 1


def _same(x: float, y: float) -> bool:
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return x == y or math.isclose(x, y, rel_tol=TOL, abs_tol=TOL)


def _sides(counts: bias_counts.BiasCounts, facet: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    assert counts.cells is not None
    return counts.cells[:, facet].sum(axis=(0, 1)), counts.cells[:, ~facet].sum(axis=(0, 1))


def _clarify_divide(a: float, b: float) -> float:
    if b == 0:
        return 0.0 if a == 0 else (-math.inf if a < 0 else math.inf)
    return a / b


def _clarify_rate(name: str, counts: bias_counts.BiasCounts, facet: np.ndarray) -> float:
    """What smclarify's common.py returns where a rate has an empty denominator."""
    d, a = _sides(counts, facet)
    rate, how = CLARIFY_POST_RATES[name]
    num, den, _ = bf.RATES[rate]
    if name in ("DPPL", "DI"):  # common.DPL and DI divide by the facet sizes only after refusing empty ones
        qd, qa = float(bf.cell_sum(d, num)) / d.sum(), float(bf.cell_sum(a, num)) / a.sum()
        return qa - qd if name == "DPPL" else _clarify_divide(qd, qa)
    rd, ra = (_clarify_divide(float(bf.cell_sum(x, num)), float(bf.cell_sum(x, den))) for x in (d, a))
    if rd == ra == math.inf:
        return 0.0
    return ra - rd if how == "a-d" else rd - ra


_AIF360_ZERO = {
    "precision",
    "negative_predictive_value",
    "false_discovery_rate",
    "false_omission_rate",
    "accuracy",
    "error_rate",
}


def _aif360_value(rate: str, cells: np.ndarray) -> float:
    """ClassificationMetric.performance_measures: 0 for an empty PPV/NPV/FDR/FOR/ACC, numpy else."""
    num, den, _ = bf.RATES[rate]
    n, m = float(bf.cell_sum(cells, num)), float(bf.cell_sum(cells, den))
    with np.errstate(all="ignore"):
        value = 0.0 if (m == 0 and rate in _AIF360_ZERO) else float(np.float64(n) / np.float64(m))
    return 1.0 - value if rate == "error_rate" else value


def _aif360_rate(name: str, counts: bias_counts.BiasCounts, facet: np.ndarray) -> float:
    d, a = _sides(counts, facet)
    with np.errstate(all="ignore"):
        if name in bf.PAIRED_DIFFERENCES:
            first, second, how = bf.PAIRED_DIFFERENCES[name]
            one = _aif360_value(first, d) - _aif360_value(first, a)
            two = _aif360_value(second, d) - _aif360_value(second, a)
            if how == "max_abs":
                return float(max(np.abs(one), np.abs(two)))
            return float(0.5 * ((abs(one) + abs(two)) if how == "mean_abs" else (one + two)))
        rate, how = bf.RATE_COMPARISONS[name]
        vd, va = _aif360_value(rate, d), _aif360_value(rate, a)
        return float(np.float64(vd) / np.float64(va)) if how == "d/a" else vd - va


def _facet(case: Case, counts: bias_counts.BiasCounts) -> np.ndarray:
    assert case.facet_values is not None
    return bias_counts.facet_mask(counts.groups, case.facet_values, counts.features)


# -- the tests ------------------------------------------------------------------------------
PRE_CLARIFY = ["CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"]
POST_CLARIFY = ["DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "TE", "CDDPL", "GE"]


def _clarify_report(entry: Any, case: Case) -> dict[str, Any] | None:
    if isinstance(entry, dict):  # the whole report refused the data
        return None
    assert len(entry) == 1
    return entry[0]["metrics"]


def test_clarify_bias_report(oracle: dict[str, Any]) -> None:
    """Clarify's bias_report (pre- and post-training, every metric but FT) on every case."""
    tally = Tally()
    refused = []
    for case in CASES:
        if case.facet_values is None:
            continue
        counts, theirs = case.counts(), oracle[case.id]["clarify"]
        if not theirs:  # fractional weights: Clarify reads no weights
            continue
        names = PRE_CLARIFY if case.strata else PRE_CLARIFY[:-1]
        facet = _facet(case, counts)
        ours = bias_metrics.evaluate(counts, names, stage="pre_training", facet_values=case.facet_values)
        report = _clarify_report(theirs["clarify_pre"], case)
        assert report is not None, f"{case.id}: {theirs['clarify_pre']}"
        for name in names:
            tally.agree(ours[name], report[name], f"{case.id} {name}", _cddl_convention(name, counts, facet))
        names = POST_CLARIFY if case.strata else [*POST_CLARIFY[:-2], "GE"]
        ours = bias_metrics.evaluate(counts, names, stage="post_training", facet_values=case.facet_values)
        report = _clarify_report(theirs["clarify_post"], case)
        if report is None:
            refused.append((case.id, theirs["clarify_post"]["error"]))
            continue
        for name in names:
            convention = (
                (lambda name=name, c=counts, f=facet: _clarify_rate(name, c, f)) if name in CLARIFY_POST_RATES else None
            )
            tally.agree(
                ours[name], report[name], f"{case.id} {name}", convention or _cddl_convention(name, counts, facet)
            )
    # Clarify refuses a post-training report without any predicted positive; nothing else
    assert all("No Label values are present in the predicted Label Column" in e for _, e in refused), refused
    assert tally.equal > 2000, tally.equal  # most values are numbers on both sides
    assert tally.conventions.get("raised", 0) > 50 and tally.conventions.get("convention", 0) > 20, tally.conventions
    print(f"TALLY {tally.equal} equal, worst {tally.worst:.1e}, {tally.conventions}")


def _cddl_convention(name: str, counts: bias_counts.BiasCounts, facet: np.ndarray) -> Any:
    """Clarify's CDD reads no facet sizes: with an empty side it still reports a number.

    Ours is undefined there (every facet metric needs both sides); whatever Clarify reports
    is its own convention (0 when the facet is empty)."""
    sides = counts.label_counts[:, facet].sum(), counts.label_counts[:, ~facet].sum()
    if name in ("CDDL", "CDDPL") and min(sides) <= 0:
        return lambda: ANY
    return None


def test_clarify_metric_functions(oracle: dict[str, Any]) -> None:
    """Clarify's metric functions on the label itself (every label value, not positive vs
    negative: ``label_distribution="values"``), LP at other orders, and GE at other alphas."""
    tally = Tally()
    for case in CASES:
        theirs = oracle[case.id]["clarify"]
        if case.facet_values is None or not theirs:
            continue
        counts = case.counts()
        for name in ("KL", "JS", "TVD", "KS"):
            ours = bias_metrics.evaluate(
                counts, [name], stage="pre_training", facet_values=case.facet_values, label_distribution="values"
            )[name]
            tally.agree(ours, theirs["clarify_values"][name], f"{case.id} {name} (values)")
        for p in P_VALUES:
            ours = bias_metrics.evaluate(
                counts, ["LP"], stage="pre_training", facet_values=case.facet_values, label_distribution="values", p=p
            )["LP"]
            tally.agree(ours, theirs["clarify_values"][f"LP{p}"], f"{case.id} LP p={p}")
        for alpha in ALPHAS:
            ours = bias_metrics.evaluate(counts, ["GE"], stage="post_training", alpha=alpha)["GE"]
            got = theirs["clarify_ge"][str(alpha)]
            if alpha in (0.0, 1.0):  # Clarify: NotImplementedError; ours follows AIF360 there
                assert "NotImplementedError" in got["error"], got
                continue
            tally.agree(ours, got, f"{case.id} GE alpha={alpha}", lambda: NOT_FINITE)
        tally.agree(
            bias_metrics.evaluate(counts, ["GE"], stage="post_training")["GE"],
            theirs["clarify_ge"]["registry"],
            f"{case.id} GE (registry, alpha 2)",
            lambda: NOT_FINITE,
        )
    assert tally.equal > 1500 and tally.conventions.get("raised", 0) > 50, (tally.equal, tally.conventions)
    print(f"TALLY {tally.equal} equal, worst {tally.worst:.1e}, {tally.conventions}")


def test_clarify_one_vs_rest(oracle: dict[str, Any]) -> None:
    """Without facet_values Clarify reports each facet value against the rest: one_vs_rest."""
    tally = Tally()
    swept = [case for case in CASES if case.facet_values is None]
    assert len(swept) >= 8
    for case in swept:
        counts, theirs = case.counts(), oracle[case.id]["clarify"]
        labels = ["|".join(str(g[f]) for f in case.facets) for g in counts.groups]
        for stage, names, key in (
            ("pre_training", PRE_CLARIFY, "clarify_pre"),
            ("post_training", POST_CLARIFY, "clarify_post"),
        ):
            names = names if case.strata else [n for n in names if n not in ("CDDL", "CDDPL")]
            if isinstance(theirs[key], dict):
                assert "No Label values are present" in theirs[key]["error"]
                continue
            ours = bias_metrics.one_vs_rest(counts, names, stage=stage)
            reports = {r["facet"]: r["metrics"] for r in theirs[key]}
            assert sorted(reports) == sorted(labels)
            for g, label in enumerate(labels):
                facet = np.eye(len(labels), dtype=bool)[g]
                for name in names:
                    convention = (
                        (lambda name=name, counts=counts, facet=facet: _clarify_rate(name, counts, facet))
                        if name in CLARIFY_POST_RATES
                        else _cddl_convention(name, counts, facet)
                    )
                    tally.agree(ours[name][g], reports[label][name], f"{case.id} {label} {name}", convention)
    assert tally.equal > 300, tally.equal
    print(f"TALLY {tally.equal} equal, worst {tally.worst:.1e}, {tally.conventions}")


def test_aif360_metrics(oracle: dict[str, Any]) -> None:
    """AIF360's dataset and classification metrics (with instance weights), its sklearn-API
    class imbalance and KL divergence, and its entropy indexes (which read no weights: on the
    rows repeated by their weight)."""
    tally = Tally()
    for case in CASES:
        if "aif360" not in oracle[case.id]:
            continue
        counts, theirs = case.counts(), oracle[case.id]["aif360"]
        facet = _facet(case, counts)
        pre = bias_metrics.evaluate(
            counts,
            [
                "statistical_parity_difference",
                "mean_difference",
                "disparate_impact",
                "class_imbalance",
                "kl_divergence",
            ],
            stage="pre_training",
            facet_values=case.facet_values,
        )
        for name in ("statistical_parity_difference", "mean_difference", "disparate_impact"):
            tally.agree(
                pre[name],
                theirs["dataset"][name],
                f"{case.id} {name} (labels)",
                lambda name=name, counts=counts, facet=facet: _aif360_base_rates(name, counts, facet),
            )
        for name in ("class_imbalance", "kl_divergence"):
            tally.agree(
                pre[name], theirs["sklearn"][name], f"{case.id} {name}", _sklearn_convention(name, counts, facet)
            )
        post_names = [
            n
            for n in catalogue.POST_TRAINING
            if catalogue.POST_TRAINING[n].library == catalogue.AIF360
            and (n in bf.RATE_COMPARISONS or n in bf.PAIRED_DIFFERENCES)
        ]
        post = bias_metrics.evaluate(counts, post_names, stage="post_training", facet_values=case.facet_values)
        for name in post_names:
            tally.agree(
                post[name],
                theirs["classification"][name],
                f"{case.id} {name}",
                lambda name=name, counts=counts, facet=facet: _aif360_rate(name, counts, facet),
            )
        for c in CONCENTRATIONS:
            edf = bias_metrics.evaluate(
                counts, ["smoothed_empirical_differential_fairness"], stage="pre_training", concentration=c
            )["smoothed_empirical_differential_fairness"]
            tally.agree(
                edf,
                theirs["dataset"][f"smoothed_empirical_differential_fairness@{c}"],
                f"{case.id} EDF c={c}",
                lambda c=c, counts=counts: _aif360_edf(counts, c, "labels"),
            )
            amp = bias_metrics.evaluate(
                counts, ["differential_fairness_bias_amplification"], stage="post_training", concentration=c
            )["differential_fairness_bias_amplification"]
            tally.agree(
                amp,
                theirs["classification"][f"differential_fairness_bias_amplification@{c}"],
                f"{case.id} amplification c={c}",
                lambda c=c, counts=counts: _aif360_edf(counts, c, "predictions") - _aif360_edf(counts, c, "labels"),
            )
        if theirs["entropy"]:  # AIF360's entropy indexes read no weights: compared on repeated rows
            _check_entropy(case, counts, theirs["entropy"], tally)
    assert tally.equal > 5000, tally.equal
    assert tally.conventions.get("convention", 0) > 100, tally.conventions
    print(f"TALLY {tally.equal} equal, worst {tally.worst:.1e}, {tally.conventions}")


def _aif360_base_rates(name: str, counts: bias_counts.BiasCounts, facet: np.ndarray) -> float:
    labels = counts.label_counts
    pos = labels[..., counts.positive]
    with np.errstate(all="ignore"):
        br_d = np.float64(pos[:, facet].sum()) / np.float64(labels[:, facet].sum())
        br_a = np.float64(pos[:, ~facet].sum()) / np.float64(labels[:, ~facet].sum())
        return float(br_d / br_a if name == "disparate_impact" else br_d - br_a)


def _aif360_edf(counts: bias_counts.BiasCounts, concentration: float, of: str) -> float:
    """BinaryLabelDatasetMetric.smoothed_empirical_differential_fairness as AIF360 computes it
    where ours is undefined: Python's max() over the pairs, which passes over a nan (a log of 0
    minus a log of 0) as long as it is not the first pair."""
    assert counts.cells is not None
    cells = counts.cells.sum(axis=0)[counts.rows.sum(axis=0) > 0]
    positives = bf.cell_sum(cells, (bf.FN, bf.TP) if of == "labels" else (bf.FP, bf.TP))
    with np.errstate(all="ignore"):
        rates = (positives + concentration / 2) / (cells.sum(axis=-1) + concentration)
        pairs = [
            max(abs(np.log(rates[i]) - np.log(rates[j])), abs(np.log(1 - rates[i]) - np.log(1 - rates[j])))
            for i in range(len(rates))
            for j in range(len(rates))
            if i != j
        ]
    return float(max(pairs))


def _sklearn_convention(name: str, counts: bias_counts.BiasCounts, facet: np.ndarray) -> Any:
    """aif360.sklearn: class_imbalance is -1 or 1 with an empty side (ours: undefined);
    kl_divergence is inf where P_d is 0 and P_a is not (ours: undefined)."""
    n_d, n_a = counts.label_counts[:, facet].sum(), counts.label_counts[:, ~facet].sum()
    if name == "class_imbalance":
        return lambda: (n_d - n_a) / (n_d + n_a) if n_d + n_a > 0 else math.nan
    return lambda: NOT_FINITE


def _check_entropy(case: Case, counts: bias_counts.BiasCounts, theirs: dict[str, Any], tally: Tally) -> None:
    facet = _facet(case, counts)
    named = [
        "theil_index",
        "coefficient_of_variation",
        "between_group_theil_index",
        "between_group_coefficient_of_variation",
        "between_all_groups_theil_index",
        "between_all_groups_coefficient_of_variation",
    ]
    ours = bias_metrics.evaluate(counts, named, stage="post_training", facet_values=case.facet_values)
    for name in named:
        mine, got = ours[name], theirs[name]
        if name.endswith("coefficient_of_variation") and mine.value is not None and isinstance(got, float):
            # sqrt(2 GE): near GE = 0 a rounding difference of GE (~1e-16, from summing the rows in
            # another order) grows to 1e-16 / CV; compare the GE both come from
            mine, got = BiasValue(mine.value**2 / 2, None), got**2 / 2
        tally.agree(mine, got, f"{case.id} {name}", _entropy_convention(name, counts, facet))
    for alpha in ALPHAS:
        for name in (
            "generalized_entropy_index",
            "between_group_generalized_entropy_index",
            "between_all_groups_generalized_entropy_index",
        ):
            value = bias_metrics.evaluate(
                counts, [name], stage="post_training", facet_values=case.facet_values, alpha=alpha
            )[name]
            tally.agree(
                value,
                theirs[f"{name}@{alpha}"],
                f"{case.id} {name} alpha={alpha}",
                _entropy_convention(name, counts, facet),
            )


def _entropy_convention(name: str, counts: bias_counts.BiasCounts, facet: np.ndarray) -> Any:
    """AIF360's entropy indexes where ours is undefined: nan (a mean benefit of 0) or inf (a log
    of 0); the between-group ones skip an empty side, leaving one group whose index is 0 up to
    rounding (its square root, the coefficient of variation, nan when the rounding is below 0)."""
    sides = counts.label_counts[:, facet].sum(), counts.label_counts[:, ~facet].sum()
    if name.startswith("between_group") and min(sides) <= 0:
        assert counts.cells is not None
        b = bf.benefits(counts.cells.sum(axis=(0, 1)))
        if b[1] + b[2] <= 0:
            return lambda: math.nan
        if name.endswith("coefficient_of_variation"):
            return lambda: lambda theirs: math.isnan(theirs) or theirs**2 / 2 <= TOL
        return lambda: 0.0
    return lambda: NOT_FINITE


def test_alpha_of_a_fairness_constraint_is_aif360s(oracle: dict[str, Any]) -> None:
    """``{"metric": "GE", "alpha": a}`` in a fairness check (the constraint's alpha, as a policy
    writes it) equals AIF360's ``generalized_entropy_index(alpha=a)``, and so for the between-group
    indexes, at alpha 0 (mean log deviation), 1 (Theil), 2 and 3, on every binary-label case."""
    from airflow_alignment.engines.fairness import evaluate

    tally, judged = Tally(), 0
    for case in CASES:
        if "aif360" not in oracle[case.id] or case.threshold is not None or case.df["y"].nunique() != 2:
            continue
        counts, theirs = case.counts(), oracle[case.id]["aif360"]["entropy"]
        if not theirs or len(counts.groups) < 2:  # weights AIF360's indexes do not read; one group
            continue
        facet = _facet(case, counts)
        names = [
            "GE",
            "generalized_entropy_index",
            "between_group_generalized_entropy_index",
            "between_all_groups_generalized_entropy_index",
        ]
        alphas = [0.0, 1.0, 2.0, 3.0]
        result = evaluate(
            case.df,
            y_true="y",
            y_pred="p",
            pos_label=case.positive_labels[0],
            sensitive_features=case.facets,
            sample_weight="w" if case.weights else None,
            facet_values=case.facet_values,
            constraints=[{"metric": n, "alpha": a, "min": -1e9} for a in alphas for n in names],
        )
        for assertion in result.assertions:
            name, alpha = assertion.details["metric"], assertion.details["alpha"]
            assert assertion.name == f"{name}(alpha={alpha:g})"
            library = "generalized_entropy_index" if name == "GE" else name
            tally.agree(
                BiasValue(assertion.observed, assertion.details.get("reason")),
                theirs[f"{library}@{alpha}"],
                f"{case.id} {assertion.name}",
                _entropy_convention(library, counts, facet),
            )
        judged += 1
    assert judged >= 20 and tally.equal > 300, (judged, tally.equal)
