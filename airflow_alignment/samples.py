"""Deterministic sample data for the DAG templates, the docs and the benchmarks.

Nothing is downloaded: every dataset is generated from a seed.

``lending_applicants`` makes loan applications with a documented, injected bias:

- the true chance of repaying depends on income, debt-to-income, employment and a latent
  credit quality, and *not* on sex or race;
- the ``credit_score`` column (what a model sees) comes from a legacy scoring vendor that
  under-scores women: for ``sex == "F"`` it is shifted down by ``score_bias`` points (50 by
  default). A model trained on it approves women less often at the same true quality, which
  fails demographic parity and equalized odds; a model post-processed with fairlearn's
  ``ThresholdOptimizer`` passes.

``corrupt`` turns a clean batch into a broken one (missing incomes, impossible ages, scores out
of range, an unknown category) for the data-quality template.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

RACES = ("A", "B", "C", "D", "E")
RACE_SHARES = (0.45, 0.2, 0.15, 0.12, 0.08)
FEATURES = ("income", "debt_to_income", "employment_years", "credit_score", "age")


def lending_applicants(n: int = 20_000, *, seed: int = 7, score_bias: float = 50.0) -> pd.DataFrame:
    """``n`` loan applications: features, sensitive attributes and the true outcome ``repaid``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    sex = rng.choice(np.array(["F", "M"]), size=n, p=[0.48, 0.52])
    race = rng.choice(np.array(RACES), size=n, p=RACE_SHARES)
    age = rng.integers(21, 76, size=n)
    income = np.round(rng.lognormal(mean=10.9, sigma=0.45, size=n), 2)
    debt_to_income = np.clip(rng.normal(0.32, 0.12, size=n), 0.0, 0.95).round(3)
    employment_years = np.clip(rng.gamma(2.0, 3.0, size=n), 0, 45).round(1)
    quality = rng.normal(0.0, 1.0, size=n)  # latent credit quality, the same for every group
    logit = (
        0.9 * quality
        + 0.6 * (np.log(income) - 10.9) / 0.45
        - 2.2 * (debt_to_income - 0.32)
        + 0.05 * (employment_years - 6)
        + 0.55
    )
    repaid = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype("int64")
    credit_score = 650 + 60 * quality + rng.normal(0, 20, size=n)
    credit_score = np.where(sex == "F", credit_score - score_bias, credit_score)
    credit_score = np.clip(np.round(credit_score), 300, 850).astype("int64")
    return pd.DataFrame(
        {
            "applicant_id": np.arange(1, n + 1, dtype="int64"),
            "age": age.astype("int64"),
            "income": income,
            "debt_to_income": debt_to_income,
            "employment_years": employment_years,
            "credit_score": credit_score,
            "sex": sex,
            "race": race,
            "repaid": repaid,
        }
    )


def corrupt(df: pd.DataFrame, *, seed: int = 11) -> pd.DataFrame:
    """A broken copy of an applicants batch: the faults the data-quality template catches.

    - 3% of ``income`` missing;
    - 1% of ``age`` set to impossible values (-1 or 150);
    - 0.5% of ``credit_score`` outside 300..850;
    - 2% of ``sex`` set to an unknown code ``"U"``.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    out = df.copy()
    n = len(out)

    def pick(share: float) -> np.ndarray:
        return rng.choice(n, size=max(1, int(n * share)), replace=False)

    out["income"] = out["income"].astype("float64")
    out.loc[pick(0.03), "income"] = np.nan
    idx = pick(0.01)
    out.loc[idx, "age"] = rng.choice(np.array([-1, 150]), size=len(idx))
    idx = pick(0.005)
    out.loc[idx, "credit_score"] = rng.choice(np.array([0, 999]), size=len(idx))
    out.loc[pick(0.02), "sex"] = "U"
    return out


def applicant_expectations() -> list[dict[str, object]]:
    """The expectations the data-quality template checks on each applicants batch."""
    return [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "income"}},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 18, "max_value": 100}},
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "credit_score", "min_value": 300, "max_value": 850},
        },
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "sex", "value_set": ["F", "M"]}},
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "race", "value_set": list(RACES)},
            "severity": "warning",
        },
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1000}},
    ]
