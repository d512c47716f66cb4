"""``DriftSpec``: what a drift check compares and the bands it judges, every default and bound in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from airflow_alignment.exceptions import SpecError, did_you_mean, preview
from airflow_alignment.limits import MAX_BINS, whole_number
from airflow_alignment.results import DEFAULT_SEVERITY
from airflow_alignment.specs.common import (
    check_group_size,
    check_severity,
    column_arguments,
    is_number,
    names,
    non_negative,
)

Method = Literal["psi", "ks", "wasserstein", "jensenshannon", "chi2", "z"]
METHODS: tuple[str, ...] = ("psi", "ks", "wasserstein", "jensenshannon", "chi2", "z")
TESTS = frozenset({"ks", "chi2", "z"})  # judged on a p-value: drifted when p < threshold
# Bounds when none is given: distances drift above them, tests below them (p-values).
DEFAULT_THRESHOLDS: dict[str, float] = {
    "psi": 0.25, "ks": 0.05, "wasserstein": 0.1, "jensenshannon": 0.1, "chi2": 0.05, "z": 0.05,
}  # fmt: skip
KSMethod = Literal["auto", "exact", "asymp"]
KS_METHODS: tuple[str, ...] = ("auto", "exact", "asymp")  # scipy's ks_2samp methods
BOUND_KEYS: tuple[str, ...] = ("psi_max", "psi_warn", "severity", "rationale")
_SETTINGS = ("bins", "psi_warn", "psi_block", "ks_alpha", "chi2_alpha", "selection_rate_max_change", "min_group_size")


@dataclass(frozen=True)
class FeatureBound:
    """The PSI bands of one feature: above ``warn_above`` it warns, above ``fail_above`` it
    fails at ``severity``."""

    warn_above: float | None
    fail_above: float
    severity: str
    rationale: str | None = None


@dataclass(frozen=True, kw_only=True)
class DriftSpec:
    """A drift check: the reference against the current data, feature by feature.

    :param features: columns to compare; default every column both frames have, except
        ``prediction``, ``sensitive_features`` and ``exclude``.
    :param categorical: columns compared as categories; default the non-numeric ones
        (booleans included).
    :param exclude: columns left out of the default ``features`` (labels, ids).
    :param bins: quantile bins of a numeric feature (ties merge bins).
    :param psi_warn: PSI above it fails as a warning.
    :param psi_block: PSI above it fails at ``severity``.
    :param ks_alpha: judge the KS test too: a p-value below it fails (off by default).
    :param chi2_alpha: the same for the chi-square test of categorical features.
    :param bounds: per-feature overrides ``{feature: {psi_max, psi_warn, severity, rationale}}``,
        resolved into :class:`FeatureBound`.
    :param prediction: column of predictions, compared like a feature and feeding selection rates.
    :param sensitive_features: with ``prediction``: each group's selection rate is compared.
    :param pos_label: the prediction value that counts as selected (without ``threshold``).
    :param threshold: ``prediction >= threshold`` counts as selected (for scores).
    :param selection_rate_max_change: the largest allowed change of a group's selection rate.
    :param min_group_size: groups smaller on either side are reported, not judged.
    :param method: how each feature is judged: ``psi`` (the PSI bands above), ``auto`` (a method
        per feature by type and effective sample size, see docs/drift-methods.md), one of
        ``ks``, ``wasserstein``, ``jensenshannon``, ``chi2``, ``z``, or a list of them (all
        computed and reported, the first that applies to a feature judged).
    :param thresholds: per-method bounds over :data:`DEFAULT_THRESHOLDS` (distances drift above theirs,
        tests below theirs); PSI's bound is ``psi_block``.
    :param ks_method: scipy's ``method`` of ``ks_2samp``: ``auto``, ``exact`` or ``asymp``.
    :param drift_share: judge the dataset: it fails when the share of drifted features reaches
        it (default: the verdict is reported, at 0.5, and not judged).
    :param missing_share_max: the largest allowed share of missing values in a current feature
        (default: reported, not judged).
    :param infinite_share_max: the same for infinite values of numeric features.
    :param severity: ``block`` or ``warn``: of the blocking band and of the tests.
    :raises SpecError: naming the field, e.g. ``bounds.income.psi_max: expected a number, got 'x'``.
    """

    features: Sequence[str] | None = None
    categorical: Sequence[str] | None = None
    exclude: Sequence[str] = ()
    bins: int = 10
    psi_warn: float = 0.1
    psi_block: float = 0.25
    ks_alpha: float | None = None
    chi2_alpha: float | None = None
    bounds: Mapping[str, Any] = field(default_factory=dict)
    prediction: str | None = None
    sensitive_features: Sequence[str] = ()
    pos_label: Any = 1
    threshold: float | None = None
    selection_rate_max_change: float = 0.05
    min_group_size: int = 30
    method: str | Sequence[str] = "psi"
    thresholds: Mapping[str, float] = field(default_factory=dict)
    ks_method: str = "auto"
    drift_share: float | None = None
    missing_share_max: float | None = None
    infinite_share_max: float | None = None
    severity: str = DEFAULT_SEVERITY

    @classmethod
    def build(cls, **options: Any) -> DriftSpec:
        """The spec of keyword options where ``None`` means "the default" (as operators and
        policies give them); an unknown option is named with the closest one."""
        known = [f.name for f in fields(cls)]
        unknown = [k for k in options if k not in known]
        if unknown:
            raise SpecError(
                f"unknown drift option {unknown[0]!r}.{did_you_mean(unknown[0], known)} Options: {', '.join(known)}"
            )
        return cls(**{k: v for k, v in options.items() if v is not None})

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "severity", check_severity(self.severity, "severity"))
        for key in ("features", "categorical", "exclude", "sensitive_features"):
            set_(self, key, names(getattr(self, key), key))
        set_(self, "exclude", self.exclude or [])
        set_(self, "sensitive_features", self.sensitive_features or [])
        column_arguments(prediction=self.prediction)
        whole_number(self.bins, "bins", low=2, high=MAX_BINS)
        for key in ("psi_warn", "psi_block"):
            non_negative(getattr(self, key), key)
        if self.psi_warn > self.psi_block:
            raise SpecError(
                f"psi_warn: {self.psi_warn} is above psi_block ({self.psi_block}); "
                "the warning band must start at or below the blocking one"
            )
        for key in ("ks_alpha", "chi2_alpha"):
            alpha = getattr(self, key)
            if alpha is not None and not (is_number(alpha) and 0 < alpha < 1):
                raise SpecError(f"{key}: expected a significance level between 0 and 1 (e.g. 0.05), got {alpha!r}")
        non_negative(self.selection_rate_max_change, "selection_rate_max_change")
        if self.threshold is not None and not is_number(self.threshold):
            raise SpecError(f"threshold: expected a number, got {self.threshold!r}")
        check_group_size(self.min_group_size)
        if self.sensitive_features and self.prediction is None:
            raise SpecError("sensitive_features: selection-rate drift needs prediction= (the column of predictions)")
        self._check_methods()
        bounds = {str(feature): self._bound(raw, f"bounds.{feature}") for feature, raw in _mapping(self.bounds).items()}
        set_(self, "bounds", bounds)
        if self.features is not None:
            known = [*self.features] + ([self.prediction] if self.prediction else [])
            for feature in bounds:
                if feature not in known:
                    raise SpecError(
                        f"bounds.{feature}: not a compared feature.{did_you_mean(feature, known)} "
                        f"Features: {preview(known)}"
                    )

    def _check_methods(self) -> None:
        method = self.method
        if not isinstance(method, str) and not (
            isinstance(method, Sequence) and all(isinstance(m, str) for m in method)
        ):
            raise SpecError(f"method: expected 'auto', a method name or a list of method names, got {method!r}")
        asked = [method] if isinstance(method, str) else list(method)
        choices = ("auto", *METHODS)
        for name in asked or [None]:
            if name not in choices or (name == "auto" and len(asked) > 1):
                raise SpecError(
                    f"method: unknown drift method {name!r}.{did_you_mean(str(name), choices)} Methods: "
                    f"{', '.join(choices)} (auto alone), or a list of methods"
                )
        object.__setattr__(self, "method", method if isinstance(method, str) else asked)
        if not isinstance(self.thresholds, Mapping):
            raise SpecError(f"thresholds: expected an object like {{'wasserstein': 0.2}}, got {self.thresholds!r}")
        for name, bound in self.thresholds.items():
            if name == "psi":
                raise SpecError("thresholds.psi: PSI is judged by psi_block (and psi_warn); set those")
            if name not in METHODS:
                raise SpecError(f"thresholds.{name}: not a drift method.{did_you_mean(str(name), METHODS)}")
            if name in TESTS and not (is_number(bound) and 0 < bound < 1):
                raise SpecError(f"thresholds.{name}: expected a p-value bound between 0 and 1, got {bound!r}")
            non_negative(bound, f"thresholds.{name}")
        if self.ks_method not in KS_METHODS:
            raise SpecError(f"ks_method: expected one of {', '.join(KS_METHODS)}, got {self.ks_method!r}")
        if self.drift_share is not None and not (is_number(self.drift_share) and 0 < self.drift_share <= 1):
            raise SpecError(f"drift_share: expected a share in (0, 1], e.g. 0.5, got {self.drift_share!r}")
        for key in ("missing_share_max", "infinite_share_max"):
            share = getattr(self, key)
            if share is not None and not (is_number(share) and 0 <= share <= 1):
                raise SpecError(f"{key}: expected a share between 0 and 1, e.g. 0.01, got {share!r}")

    def method_thresholds(self, feature: str) -> dict[str, float]:
        """Each method's bound for ``feature``: PSI's is its failing band, the others
        ``thresholds`` over the defaults."""
        return {**DEFAULT_THRESHOLDS, **self.thresholds, "psi": self.limits(feature).fail_above}

    def _bound(self, raw: Any, here: str) -> FeatureBound:
        if isinstance(raw, FeatureBound):
            return raw
        if not isinstance(raw, Mapping):
            raise SpecError(
                f"{here}: expected an object like {{'psi_max': 0.2, 'rationale': '...'}}, got {type(raw).__name__}"
            )
        for key in raw:
            if key not in BOUND_KEYS:
                raise SpecError(
                    f"{here}: unknown key {key!r}.{did_you_mean(str(key), BOUND_KEYS)} Keys: {', '.join(BOUND_KEYS)}"
                )
        for key in ("psi_max", "psi_warn"):
            if raw.get(key) is not None:
                non_negative(raw[key], f"{here}.{key}")
        fail = raw["psi_max"] if raw.get("psi_max") is not None else self.psi_block
        warn = raw.get("psi_warn", self.psi_warn if self.psi_warn < fail else None)
        if warn is not None and warn > fail:
            raise SpecError(f"{here}.psi_warn: {warn} is above the failing bound {fail}; lower it or raise psi_max")
        rationale = raw.get("rationale")
        if rationale is not None and not isinstance(rationale, str):
            raise SpecError(f"{here}.rationale: expected a string, got {type(rationale).__name__}")
        severity = check_severity(raw.get("severity", self.severity), f"{here}.severity")
        return FeatureBound(warn, fail, severity, rationale)

    def limits(self, feature: str) -> FeatureBound:
        """The bands of ``feature``: its own bound, else the check's."""
        return self.bounds.get(feature) or FeatureBound(self.psi_warn, self.psi_block, self.severity)

    @property
    def settings(self) -> dict[str, Any]:
        """The options recorded in the result's ``metrics.settings``."""
        return {k: getattr(self, k) for k in _SETTINGS}


def _mapping(value: Any) -> Mapping[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SpecError(f"bounds: expected an object like {{'income': {{'psi_max': 0.2}}}}, got {type(value).__name__}")
    return value
