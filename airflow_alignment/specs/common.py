"""The checks every spec shares: severities, choices, numbers, column names, seeds.

Each raises :class:`~airflow_alignment.exceptions.SpecError` naming the field (``where``), the
value and, where there is one, the fix. Nothing heavy: specs are checked when a DAG is parsed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, get_args

from airflow_alignment.exceptions import SpecError, did_you_mean
from airflow_alignment.results import SEVERITIES

DecideOn = Literal["estimate", "conservative", "significant"]
DECIDE_ON: tuple[str, ...] = get_args(DecideOn)


def check_severity(value: Any, where: str) -> str:
    """``block`` or ``warn``."""
    if value not in SEVERITIES:
        raise SpecError(f"{where}: severity must be 'block' or 'warn', got {value!r}")
    return str(value)


def choice(value: Any, valid: Sequence[str], where: str) -> str:
    """One of ``valid``, or a message with the closest ones."""
    if value not in valid:
        raise SpecError(
            f"{where}: unknown value {value!r}.{did_you_mean(str(value), valid)} Use one of: {', '.join(valid)}"
        )
    return str(value)


def is_number(value: Any) -> bool:
    """An int or a float, not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_threshold(value: Any) -> None:
    """A threshold that cuts scores into predicted labels is a finite number."""
    if value is not None and not (is_number(value) and math.isfinite(value)):
        raise SpecError(f"threshold: expected a number, got {value!r}")


def non_negative(value: Any, where: str) -> None:
    """A finite number of at least 0."""
    if not (is_number(value) and math.isfinite(value) and value >= 0):
        raise SpecError(
            f"{where}: expected a number, got {value!r}"
            if not is_number(value)
            else f"{where}: expected a number of at least 0, got {value!r}"
        )


def check_group_size(value: Any) -> None:
    """``min_group_size``: a whole number of rows, 0 or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SpecError(f"min_group_size: expected a whole number of rows (0 or more), got {value!r}")


def check_seed(value: Any, where: str = "random_state") -> None:
    """A bootstrap seed: ``None`` (fresh entropy) or a whole number of at least 0."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise SpecError(f"{where}: expected None or a whole number of at least 0 (the bootstrap's seed), got {value!r}")


def column_arguments(*, required: tuple[str, ...] = (), **columns: Any) -> None:
    """Each argument names a column: a non-empty string, or ``None`` unless it is ``required``."""
    for argument, value in columns.items():
        if value is None and argument not in required:
            continue
        if not isinstance(value, str) or not value:
            raise SpecError(f"{argument}: expected a column name (a non-empty string), got {value!r}")


def column_list(value: Any, argument: str) -> list[str]:
    """A column name or a list of distinct ones (``sensitive_features=``), as a list."""
    if isinstance(value, str):
        column_arguments(required=(argument,), **{argument: value})
        return [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise SpecError(f"{argument}: expected a column name or a non-empty list of column names, got {value!r}")
    for i, name in enumerate(value):
        if not isinstance(name, str) or not name:
            raise SpecError(f"{argument}[{i}]: expected a column name (a non-empty string), got {name!r}")
        if name in value[:i]:
            raise SpecError(f"{argument}[{i}]: {name!r} is listed twice")
    return list(value)


def names(value: Any, where: str) -> list[str] | None:
    """A column name or a list of column names (drift's ``features=``, ``exclude=``), as a list."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"{where}: expected a column name or a list of column names, got {value!r}")
    return list(value)
