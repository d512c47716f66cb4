"""Errors raised by airflow-alignment.

::

    AlignmentError                   base of everything raised here
     ├── SpecError (ValueError)      the check's spec is wrong: fix the DAG or policy.
     │                               Not retried: the same spec fails the same way.
     ├── DataError (ValueError)      the data cannot be judged: a missing column, an empty
     │                               dataset, an unreadable format. Not retried.
     └── SourceUnavailableError      the data could not be reached: a missing file, a network
         (OSError)                   or storage error. Airflow's retries apply.
          └── StoreUnavailableError  the artifact store could not be written or read while a
                                     result was published: the message names the store and
                                     the key. Airflow's retries apply.

Messages name the field, the value and, where there is one, the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class AlignmentError(Exception):
    """Base class of every error raised by airflow-alignment."""


class SpecError(AlignmentError, ValueError):
    """A check's specification is invalid."""


class DataError(AlignmentError, ValueError):
    """The data cannot be evaluated as specified."""


class SourceUnavailableError(AlignmentError, OSError):
    """The data source could not be read (I/O); retrying may help."""


class StoreUnavailableError(SourceUnavailableError):
    """The artifact store could not be reached; ``store`` and ``key`` say where."""

    def __init__(self, message: str, *, store: str, key: str) -> None:
        super().__init__(message)
        self.store = store
        self.key = key

    def __reduce__(self) -> tuple[object, ...]:  # keyword-only arguments survive pickling
        return (_rebuild_store_error, (str(self), self.store, self.key))


def _rebuild_store_error(message: str, store: str, key: str) -> StoreUnavailableError:
    return StoreUnavailableError(message, store=store, key=key)


def closest(name: str, valid: Iterable[str], n: int = 3) -> list[str]:
    """The valid names closest to ``name`` (for "did you mean" messages)."""
    return difflib.get_close_matches(str(name), [str(v) for v in valid], n=n, cutoff=0.5)


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """``" Did you mean 'x'?"`` or an empty string."""
    matches = closest(name, valid)
    if not matches:
        return ""
    return " Did you mean " + " or ".join(repr(m) for m in matches) + "?"


def preview(values: Iterable[object], limit: int = 10) -> str:
    """``a, b, c`` with at most ``limit`` items, then ``+N more``."""
    items = list(values)
    shown = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in items[:limit])
    more = len(items) - limit
    return f"{shown}, +{more} more" if more > 0 else shown
