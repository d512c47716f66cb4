"""Bounded listing and reading of the artifact store, for pages that must cost what they show.

:func:`iter_keys` walks the keys under a folder lazily, one first-level folder after another in
key order, so a caller that needs the first N folders stops after them; :func:`read_texts`
reads a set of keys and returns, per key, its text or the error that kept it from being read
(one bad object is one bad entry). What each store pays:

- **local folder**: ``os.scandir`` of the folder (names only, no ``stat``), then of each
  first-level folder as the caller reaches it;
- **S3** (``s3://`` through Airflow's object storage, i.e. s3fs): one ``ListObjectsV2`` request
  per 1,000 keys *read*, starting after ``after`` (``StartAfter``), then one ``GET`` per key
  read, up to :data:`CONCURRENT_READS` at a time;
- **any other fsspec store** (``gs://``, ``az://``, ``memory://``...): one listing of the
  folder's first level (on GCS and Azure: one request per 1,000 first-level folders, so it
  grows with the number of folders), one recursive listing per first-level folder reached, one
  read per key.

Temporary files of atomic writes (names starting with ``.``) are never listed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from airflow_alignment.io import object_path
from airflow_alignment.store.artifacts import ArtifactStore

CONCURRENT_READS = 32
_S3_PAGE = 1000


def iter_keys(store: ArtifactStore, folder: str, *, after: str | None = None) -> Iterator[str]:
    """Keys under ``folder``, grouped by first-level folder, those in the order of their keys
    (``name + "/"``); with ``after``, only the first-level folders that sort after that one.

    Lazy: a consumer that stops early makes no further listing request.
    """
    # DEL sorts after every character of a key (keys are percent-encoded ASCII)
    start = f"{folder}/{after}/\x7f" if after is not None else None
    if store.is_local:
        yield from _local_keys(store, folder, after)
        return
    root = _remote_root(store)
    base = root.path.rstrip("/")
    lister = _LISTERS.get(_protocol(root.fs), _fsspec_keys)
    for found in lister(root.fs, f"{base}/{folder}", start and f"{base}/{start}"):
        yield found[len(base) + 1 :]


def read_texts(store: ArtifactStore, keys: Iterable[str]) -> dict[str, str | Exception]:
    """The text of each key, or the exception that kept it from being read (a vanished object
    is a ``FileNotFoundError``, undecodable bytes a ``UnicodeDecodeError``)."""
    keys = list(keys)
    if store.is_local:
        return {key: _read_local(store.uri(key)) for key in keys}
    root = _remote_root(store)
    base = root.path.rstrip("/")
    blobs = _read_remote(root.fs, [f"{base}/{key}" for key in keys])
    return {key: _decode(blob) for key, blob in zip(keys, blobs, strict=True)}


# -- local ----------------------------------------------------------------------------------
def _local_keys(store: ArtifactStore, folder: str, after: str | None) -> Iterator[str]:
    root = store.uri(folder)
    for name in _sorted_names(root):
        if after is not None and name + "/" <= after + "/":
            continue
        path = os.path.join(root, name)
        if os.path.isdir(path):
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                rel = os.path.relpath(dirpath, store.base).replace(os.sep, "/")
                yield from sorted(f"{rel}/{f}" for f in filenames if not f.startswith("."))
        else:
            yield f"{folder}/{name}"


def _sorted_names(path: str) -> list[str]:
    try:
        with os.scandir(path) as entries:
            names = [e.name for e in entries if not e.name.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(names, key=lambda n: n + "/")


def _read_local(path: str) -> str | Exception:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        return exc


# -- object stores --------------------------------------------------------------------------
def _remote_root(store: ArtifactStore) -> Any:

    return object_path(store.base)


def _protocol(fs: Any) -> str:
    protocol = fs.protocol
    return protocol if isinstance(protocol, str) else protocol[0]


def _s3_keys(fs: Any, prefix: str, start_after: str | None) -> Iterator[str]:
    """``ListObjectsV2`` through s3fs's own client (Airflow's connection, endpoint, retries)."""
    bucket, key_prefix, _ = fs.split_path(prefix)
    request: dict[str, Any] = {"Bucket": bucket, "Prefix": key_prefix.rstrip("/") + "/", "MaxKeys": _S3_PAGE}
    if start_after is not None:
        request["StartAfter"] = fs.split_path(start_after)[1]
    while True:
        page = fs.call_s3("list_objects_v2", **request)
        for item in page.get("Contents", []):
            name = item["Key"].rsplit("/", 1)[-1]
            if not name.startswith("."):
                yield f"{bucket}/{item['Key']}"
        if not page.get("IsTruncated"):
            return
        request.pop("StartAfter", None)
        request["ContinuationToken"] = page["NextContinuationToken"]


def _fsspec_keys(fs: Any, prefix: str, start_after: str | None) -> Iterator[str]:
    try:
        first = fs.ls(prefix, detail=True)
    except FileNotFoundError:
        return
    for entry in sorted(first, key=lambda e: e["name"].rstrip("/") + "/"):
        name = entry["name"].rstrip("/")
        if name.rsplit("/", 1)[-1].startswith(".") or (start_after is not None and name + "/" <= start_after):
            continue
        if entry.get("type") == "directory":
            yield from sorted(p for p in fs.find(name) if not p.rsplit("/", 1)[-1].startswith("."))
        else:
            yield name


_LISTERS = {"s3": _s3_keys}
# s3fs asks for an object's size (a HEAD) before reading it in parallel chunks; index entries
# and results are small: one GET each
_READ_OPTIONS: dict[str, dict[str, Any]] = {"s3": {"max_concurrency": 1}}


def _read_remote(fs: Any, paths: list[str]) -> list[bytes | Exception]:
    """One ``GET`` per path; concurrent on async filesystems (s3fs, gcsfs), threads elsewhere."""
    from fsspec.asyn import AsyncFileSystem, sync

    options = _READ_OPTIONS.get(_protocol(fs), {})
    if isinstance(fs, AsyncFileSystem):

        async def all_of() -> list[bytes | Exception]:
            gate = asyncio.Semaphore(CONCURRENT_READS)

            async def one(path: str) -> bytes:
                async with gate:
                    return bytes(await fs._cat_file(path, **options))

            return list(await asyncio.gather(*(one(p) for p in paths), return_exceptions=True))

        return sync(fs.loop, all_of)

    def read(path: str) -> bytes | Exception:
        try:
            return bytes(fs.cat_file(path, **options))
        except Exception as exc:  # noqa: BLE001 - any store error is this one key's error
            return exc

    with ThreadPoolExecutor(max_workers=min(CONCURRENT_READS, max(1, len(paths)))) as pool:
        return list(pool.map(read, paths))


def _decode(blob: bytes | Exception) -> str | Exception:
    if isinstance(blob, Exception):
        return blob
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc
