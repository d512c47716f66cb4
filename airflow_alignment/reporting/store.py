"""The artifact store: full results, reports, baselines and the audit log.

The base is a local folder or any Airflow object storage URI (``s3://conn_id@bucket/prefix``,
``gs://...``). It is read from, in order: the ``base`` argument, the Airflow option
``[alignment] artifact_store`` (env ``AIRFLOW__ALIGNMENT__ARTIFACT_STORE``), and
``$AIRFLOW_HOME/alignment``.

Keys are predictable: ``results/<dag_id>/<run_id>/<task_id>/<map_index>/try-<n>.json``, with
every segment percent-encoded so that no identifier can climb out of its folder. Writes are
atomic: on a local disk the text goes to a temporary file in the same folder, is flushed and
fsynced, then renamed over the target; object stores replace an object in a single PUT.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

RESULTS = "results"


def safe_segment(value: object) -> str:
    """One path segment from an identifier: percent-encoded, never ``.`` or ``..``."""
    text = quote(str(value), safe="-_~")
    if text.startswith("."):
        text = "%2E" + text[1:]
    return text or "%00"


def result_key(context: Mapping[str, Any], name: str = "result.json") -> str:
    """The key of a task instance's artifact ``name`` (``result.json``, ``report.html``)."""
    map_index = context.get("map_index")
    parts = [
        RESULTS,
        safe_segment(context.get("dag_id")),
        safe_segment(context.get("run_id")),
        safe_segment(context.get("task_id")),
        safe_segment(-1 if map_index is None else map_index),
        f"try-{safe_segment(context.get('try_number') or 0)}",
        name,
    ]
    return "/".join(parts)


def default_base() -> str:
    configured = os.environ.get("AIRFLOW__ALIGNMENT__ARTIFACT_STORE", "")
    if not configured:
        try:
            from airflow.configuration import conf

            configured = conf.get("alignment", "artifact_store", fallback="") or ""
        except ImportError:  # used outside Airflow
            configured = ""
    if configured:
        return configured
    home = os.environ.get("AIRFLOW_HOME") or os.path.join(os.path.expanduser("~"), "airflow")
    return os.path.join(home, "alignment")


class ArtifactStore:
    """Read and write text artifacts under one base folder or URI."""

    def __init__(self, base: str | os.PathLike[str] | None = None) -> None:
        text = str(base) if base is not None else default_base()
        if text.startswith("file://"):
            text = text[len("file://") :]
        self.base = text.rstrip("/") or "/"
        self.is_local = "://" not in self.base

    def __repr__(self) -> str:
        return f"ArtifactStore({self.base!r})"

    # -- paths ---------------------------------------------------------------------------
    def uri(self, key: str) -> str:
        """Where ``key`` lives, as a path (local) or URI (object storage)."""
        _check_key(key)
        return os.path.join(self.base, *key.split("/")) if self.is_local else f"{self.base}/{key}"

    def _remote(self, key: str) -> Any:
        from airflow_alignment.sources import object_path

        return object_path(self.uri(key))

    # -- I/O -----------------------------------------------------------------------------
    def write_text(self, key: str, text: str) -> str:
        """Write ``text`` at ``key`` atomically and return its URI."""
        target = self.uri(key)
        if not self.is_local:
            path = self._remote(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            return target
        folder = os.path.dirname(target)
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def read_text(self, key: str) -> str:
        if self.is_local:
            return Path(self.uri(key)).read_text(encoding="utf-8")
        return str(self._remote(key).read_text())

    def exists(self, key: str) -> bool:
        if self.is_local:
            return os.path.exists(self.uri(key))
        return bool(self._remote(key).exists())

    def list(self, prefix: str) -> list[str]:
        """Keys under ``prefix`` (a folder key), sorted; temporary files are not listed."""
        _check_key(prefix)
        if self.is_local:
            root = Path(self.uri(prefix))
            if not root.is_dir():
                return []
            keys = [p.relative_to(self.base).as_posix() for p in root.rglob("*") if p.is_file()]
        else:
            root = self._remote(prefix)
            if not root.exists():
                return []
            base = str(self._remote("x").parent)
            keys = [str(p)[len(base) + 1 :] for p in root.rglob("*") if p.is_file()]
        return sorted(k for k in keys if not k.rsplit("/", 1)[-1].startswith(".tmp-"))


def _check_key(key: str) -> None:
    parts = key.split("/")
    if key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid artifact key {key!r}")
