"""The artifact store: full results, reports, baselines and the audit log.

The base is a local folder or any Airflow object storage URI (``s3://conn_id@bucket/prefix``,
``gs://...``). It is read from, in order: the ``base`` argument, the Airflow option
``[alignment] artifact_store`` (env ``AIRFLOW__ALIGNMENT__ARTIFACT_STORE``), and
``$AIRFLOW_HOME/alignment``.

Keys are predictable: ``results/<dag_id>/<run_id>/<task_id>/<map_index>/try-<n>.json``, with
every segment percent-encoded so that no identifier can climb out of its folder. Writes are
atomic: on a local disk the text goes to a temporary file (``.tmp-*.part``) in the same folder,
is flushed and fsynced, then renamed over the target; object stores replace an object in a
single PUT.

Deployment rules (see docs/deployment.md):

- local files get the permissions of the process umask (``0666 & ~umask``, like ``open()``),
  so an api-server running as another user of the same group can read them with umask 002;
- a temporary file that a crash left behind is removed by the next write into its folder or a
  sibling folder (the next try of the same task), once it is :data:`STALE_TEMP_S` old;
- a store that cannot be reached raises :class:`~airflow_alignment.exceptions.StoreUnavailableError`
  (retryable) naming the store and the key; :meth:`ArtifactStore.all_or_nothing` removes what a
  failed group of writes had written.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from airflow_alignment.exceptions import AlignmentError, StoreUnavailableError
from airflow_alignment.io import object_path

RESULTS = "results"
RESULT_NAME = "result.json"
TEMP_PREFIX, TEMP_SUFFIX = ".tmp-", ".part"
#: A temporary file this old (seconds) belongs to a write that died: the next writer removes it.
STALE_TEMP_S = 3600.0

log = logging.getLogger(__name__)


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


def process_umask() -> int:
    """The process umask, read without changing it where Linux tells it (``/proc``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: the classic read-and-restore
    os.umask(mask)
    return mask


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
        self._journal: list[str] | None = None

    def __repr__(self) -> str:
        return f"ArtifactStore({self.base!r})"

    # -- paths ---------------------------------------------------------------------------
    def uri(self, key: str) -> str:
        """Where ``key`` lives, as a path (local) or URI (object storage)."""
        _check_key(key)
        return os.path.join(self.base, *key.split("/")) if self.is_local else f"{self.base}/{key}"

    def _remote(self, key: str) -> Any:

        return object_path(self.uri(key))

    # -- I/O -----------------------------------------------------------------------------
    def write_text(self, key: str, text: str) -> str:
        """Write ``text`` at ``key`` atomically and return its URI.

        Raises :class:`StoreUnavailableError` (an ``OSError``: Airflow retries) when the store
        cannot be written; its message names the store and the key.
        """
        target = self.uri(key)
        with self._reaching("write", key):
            if self.is_local:
                _write_local(target, text)
            else:
                path = self._remote(key)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        if self._journal is not None:
            self._journal.append(key)
        return target

    def read_text(self, key: str) -> str:
        with self._reaching("read", key):
            if self.is_local:
                return Path(self.uri(key)).read_text(encoding="utf-8")
            return str(self._remote(key).read_text())

    def exists(self, key: str) -> bool:
        if self.is_local:
            return os.path.exists(self.uri(key))
        with self._reaching("read", key):
            return bool(self._remote(key).exists())

    def delete(self, key: str) -> None:
        """Remove ``key``; a key that is not there is no error."""
        with self._reaching("delete", key):
            if self.is_local:
                Path(self.uri(key)).unlink(missing_ok=True)
            else:
                path = self._remote(key)
                if path.exists():
                    path.unlink()

    def list(self, prefix: str) -> list[str]:
        """Keys under ``prefix`` (a folder key), sorted; temporary files are not listed."""
        _check_key(prefix)
        with self._reaching("list", prefix):
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
        return sorted(k for k in keys if not k.rsplit("/", 1)[-1].startswith(TEMP_PREFIX))

    @contextmanager
    def all_or_nothing(self) -> Iterator[None]:
        """Writes in the block stand together: if the block raises, what it wrote is removed
        (newest first, best effort: a store that is down may keep some of it, which the next
        try removes, see :func:`remove_unfinished_tries`), then the error propagates."""
        outer, self._journal = self._journal, []
        try:
            yield
        except BaseException:
            for key in reversed(self._journal):
                try:
                    self.delete(key)
                except Exception as exc:  # noqa: BLE001 - the original error is the one to raise
                    log.warning("could not remove %s after a failed write: %s", self.uri(key), exc)
            raise
        finally:
            written, self._journal = self._journal, outer
            if outer is not None:
                outer.extend(written)

    @contextmanager
    def _reaching(self, action: str, key: str) -> Iterator[None]:
        """Turn what the filesystem raised into a retryable error naming the store and key."""
        try:
            yield
        except (AlignmentError, FileNotFoundError, ValueError):
            raise  # ours, "not there" (callers ask exists() first) and bad arguments stay as they are
        except Exception as exc:
            raise StoreUnavailableError(
                f"could not {action} {key!r} in the artifact store {self.base!r}: {type(exc).__name__}: {exc}. "
                "Is the store reachable and writable by this worker? The task is retried.",
                store=self.base,
                key=key,
            ) from exc


def remove_unfinished_tries(store: ArtifactStore, context: Mapping[str, Any]) -> list[str]:
    """Remove what earlier tries of this task instance wrote without finishing: their folders
    that hold no ``result.json`` (a report written before the store went away or the worker
    died). Tries that stored a result keep it. Returns the keys removed."""
    here = result_key(context, RESULT_NAME).rsplit("/", 2)[0]  # results/<dag>/<run>/<task>/<map>
    mine = int(context.get("try_number") or 0)
    by_try: dict[str, list[str]] = {}
    for key in store.list(here):
        segment, _, name = key[len(here) + 1 :].partition("/")
        by_try.setdefault(segment, []).append(name)
    removed = []
    for segment, names in by_try.items():
        number = segment.removeprefix("try-")
        if segment.startswith("try-") and number.isdigit() and int(number) < mine and RESULT_NAME not in names:
            for name in names:
                store.delete(f"{here}/{segment}/{name}")
                removed.append(f"{here}/{segment}/{name}")
    return removed


def _write_local(target: str, text: str) -> None:
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    _remove_stale_temp_files(folder)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    try:
        os.fchmod(fd, 0o666 & ~process_umask())  # mkstemp makes 0600; a plain open() would not
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _remove_stale_temp_files(folder: str) -> None:
    """Remove temporary files older than :data:`STALE_TEMP_S` from ``folder`` and its sibling
    folders (a crash during try 1's write is cleaned up by try 2, which writes next door)."""
    cutoff = time.time() - STALE_TEMP_S
    parent = os.path.dirname(folder)
    try:
        siblings = [e.path for e in os.scandir(parent) if e.is_dir(follow_symlinks=False)]
    except OSError:
        siblings = [folder]
    for where in siblings:
        try:
            entries = list(os.scandir(where))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX):
                try:
                    if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        os.unlink(entry.path)
                        log.info("removed %s, left by a write that did not finish", entry.path)
                except FileNotFoundError:
                    pass  # another writer removed it first


def _check_key(key: str) -> None:
    parts = key.split("/")
    if key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid artifact key {key!r}")
