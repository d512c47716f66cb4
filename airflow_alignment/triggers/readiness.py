"""What a deferred alignment sensor waits on: cheap readiness conditions, looked at in the triggerer.

A condition is a plain mapping, carried in the trigger's serialized kwargs:

- ``{"kind": "file", "path": ..., "storage_options": {...}, "min_bytes": n}``: a file or an
  object (any ``ObjectStoragePath`` URI, ``s3://conn_id@bucket/key``) exists and holds at
  least ``min_bytes`` bytes. Its fingerprint: size, modification time and inode, or the
  object's size, ETag, last-modified time and version, as the store reports them.
- ``{"kind": "rows", "source": {SqlSource fields}, "min_rows": n}``: ``COUNT(*)`` of a SQL
  source is at least ``min_rows``. Fingerprint: the count.
- ``{"kind": "labelled", "source": {...}, "features": [...], "label": "y_true",
  "min_per_group": n, "window": {Window fields} | None}``: every group seen in the window has
  at least ``min_per_group`` rows with a label (one ``GROUP BY`` in the database).
  Fingerprint: rows and labelled rows per group.

:func:`observe` looks once (blocking I/O: the trigger runs it in a thread, the sensor on the
worker before each evaluation) and returns an :class:`Observation`. The sensor's task
resumes when the condition holds **and** the fingerprint differs from the one taken before
the last evaluation: an unchanged file is never evaluated twice.

Nothing here imports pandas, numpy, pyarrow, Great Expectations, fairlearn, scikit-learn or
SciPy, at import or at run time: this runs in the triggerer, which serves every deferred task
of the deployment.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from airflow_alignment.exceptions import AlignmentError, SourceUnavailableError, SpecError, did_you_mean, preview
from airflow_alignment.io import as_source, object_path, sql
from airflow_alignment.io.window import Window

# What an object store's ``info()`` may tell about an object's content (S3, GCS, Azure, local)
_OBJECT_KEYS = (
    "size",
    "ETag",
    "etag",
    "md5Hash",
    "VersionId",
    "generation",
    "LastModified",
    "last_modified",
    "updated",
    "mtime",
    "ino",
)


@dataclass(frozen=True)
class Observation:
    """One look at a condition.

    :param fingerprint: what the data looks like now (plain values), or ``None`` when there is
        nothing yet (no file, no table).
    :param enough: whether the condition holds (size, row count, labels per group).
    :param note: one line for the logs: what was seen.
    """

    fingerprint: Any
    enough: bool
    note: str

    def ready_after(self, previous: Any) -> bool:
        """The condition holds and the data changed since ``previous`` was taken."""
        return self.enough and self.fingerprint is not None and self.fingerprint != previous


def observe(condition: dict[str, Any]) -> Observation:
    """Look at the condition once.

    :raises SourceUnavailableError: the store or the database could not be reached (wait on).
    :raises DataError: e.g. the table does not exist (yet).
    :raises SpecError: the condition itself is wrong (an unknown connection, say).
    """
    kind = condition.get("kind")
    if kind not in _OBSERVERS:
        raise SpecError(
            f"readiness condition: unknown kind {kind!r}.{did_you_mean(str(kind), _OBSERVERS)} "
            f"Kinds: {', '.join(_OBSERVERS)}"
        )
    return _OBSERVERS[kind](condition)


def fingerprint_now(condition: dict[str, Any]) -> Any:
    """The fingerprint now, or ``None`` when it cannot be taken (the evaluation says why)."""
    try:
        return observe(condition).fingerprint
    except AlignmentError:
        return None


# -- conditions -----------------------------------------------------------------------------
def file_condition(data: str | dict[str, Any], min_bytes: int | None = None) -> dict[str, Any]:
    """The condition of a path or URI, or of a ``FileSource`` as its plain mapping."""
    path, options = (data["path"], data.get("storage_options") or {}) if isinstance(data, dict) else (data, {})
    return {"kind": "file", "path": str(path), "storage_options": dict(options), "min_bytes": min_bytes or 1}


def _file(condition: dict[str, Any]) -> Observation:
    text = condition["path"]
    found = _local_file(text) if "://" not in text or text.startswith("file://") else _object(text, condition)
    if found is None:
        return Observation(None, False, f"{text} does not exist yet")
    need = int(condition.get("min_bytes") or 1)
    size = int(found["size"])
    if size < need:
        return Observation(found, False, f"{text} holds {size:,} bytes, fewer than min_bytes={need:,}")
    return Observation(found, True, f"{text} holds {size:,} bytes")


def _local_file(text: str) -> dict[str, Any] | None:
    local = text[len("file://") :] if text.startswith("file://") else text
    try:
        st = os.stat(local)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise SourceUnavailableError(f"could not look at {text}: {exc}") from exc
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def _object(text: str, condition: dict[str, Any]) -> dict[str, Any] | None:
    try:
        target = object_path(text, **condition.get("storage_options", {}))
        fs, key = target.fs, target.path
        fs.invalidate_cache(key)  # a cached listing would hide a new version of the object
        info = fs.info(key)
    except FileNotFoundError:
        return None
    except SpecError:
        raise
    except Exception as exc:  # every store has its own errors; all mean "unreachable"
        raise SourceUnavailableError(f"could not look at {text}: {type(exc).__name__}: {exc}") from exc
    if info.get("type") == "directory":
        return None
    return {k: _plain(info[k]) for k in _OBJECT_KEYS if info.get(k) is not None}


def _rows(condition: dict[str, Any]) -> Observation:
    source = as_source(condition["source"])
    count = sql.row_count(source)
    need = int(condition.get("min_rows") or 1)
    if count < need:
        return Observation({"rows": count}, False, f"{source} holds {count:,} rows, fewer than {need:,}")
    return Observation({"rows": count}, True, f"{source} holds {count:,} rows")


def _labelled(condition: dict[str, Any]) -> Observation:
    source = as_source(condition["source"])
    window = Window(**condition["window"]) if condition.get("window") else None
    features, need = list(condition["features"]), int(condition["min_per_group"])
    groups = sql.group_counts(source, features, condition["label"], window=window)
    fingerprint = {"groups": [[[_plain(v) for v in key], rows, labelled] for key, rows, labelled in groups]}
    if not groups:
        return Observation(fingerprint, False, f"no rows in {source}" + (f" with {window}" if window else ""))
    short = [(key, labelled) for key, _, labelled in groups if labelled < need]
    labelled_rows = sum(g[2] for g in groups)
    if short:
        lacking = preview(f"{group_name(key, features)} ({n})" for key, n in short)
        return Observation(
            fingerprint,
            False,
            f"{len(short)} of {len(groups)} groups have fewer than {need} labelled "
            f"rows ({labelled_rows:,} labelled): {lacking}",
        )
    return Observation(fingerprint, True, f"every group has at least {need} labelled rows ({labelled_rows:,} labelled)")


def group_name(key: Any, features: list[str]) -> str:
    """``sex=F,race=B``: a group's values named by their features; a missing value is ``null``."""
    values = key if isinstance(key, tuple) else (key,)
    return ",".join(f"{f}={'null' if _missing(v) else v}" for f, v in zip(features, values, strict=False))


def _missing(value: Any) -> bool:
    """None, or pandas' missing values: NaN and NaT differ from themselves, pd.NA has no truth."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:
        return True


def _plain(value: Any) -> Any:
    """A JSON value: what the trigger's kwargs can carry and compare after a round trip."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


_OBSERVERS: dict[str, Callable[[dict[str, Any]], Observation]] = {
    "file": _file,
    "rows": _rows,
    "labelled": _labelled,
}
