"""A small on-disk cache of pure results, shared by every costlib process.

Two results are worth keeping between processes: the checked price rows (reading and checking
every price table takes about 0.3 s) and the operating points of the throughput model (an SLO
search takes about 0.3 s per self-hosted option). Both are pure functions of their arguments,
of data files and of costlib's own code, so each entry is stored under a key that holds all
three (:func:`file_signature`, :func:`code_signature`); a changed table, data file or module
gives a new key, and the old entry is simply not found.

Where: ``$COSTLIB_CACHE_DIR`` when set, else ``~/.cache/costlib``; ``COSTLIB_NO_CACHE=1`` turns
the cache off. The cache never makes a command fail: an unreadable, corrupt or foreign entry is
ignored (and rebuilt by the caller), an unwritable directory means nothing is stored. Entries are
JSON (plain data: loading one runs no code) and are written to a temporary file in the same
directory and renamed into place, so concurrent processes see a whole entry or none.

>>> digest({"b": 1, "a": [1.5, "x"]}) == digest({"a": [1.5, "x"], "b": 1})
True
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import costlib

ENV_DIR = "COSTLIB_CACHE_DIR"
"""Environment variable naming the cache directory."""
ENV_OFF = "COSTLIB_NO_CACHE"
"""Environment variable that, set to a non-empty value other than ``0``, turns the cache off."""

VERSION = costlib.__version__
"""The costlib version, part of every key."""


def cache_dir() -> Path | None:
    """The cache directory: ``$COSTLIB_CACHE_DIR``, else ``~/.cache/costlib``; None when off."""
    if os.environ.get(ENV_OFF, "") not in ("", "0"):
        return None
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env)
    try:
        return Path.home() / ".cache" / "costlib"
    except RuntimeError:  # no home directory
        return None


def digest(obj) -> str:
    """SHA-256 hex digest of a JSON-able value (keys sorted, so dict order does not matter)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_signature(paths) -> list[list]:
    """``[path, size in bytes, SHA-256 of the content]`` of each file; a missing file is ``[path]``.

    Content hashes, not modification times: a copy with a preserved mtime, or an edit within the
    clock's resolution, still changes the signature. Hashing the ~200 kB of tables costs < 1 ms.
    """
    out = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError:
            out.append([str(path)])
            continue
        out.append([str(path), len(data), hashlib.sha256(data).hexdigest()])
    return out


@lru_cache(maxsize=None)
def code_signature(*modules: str) -> str:
    """Digest of the source files of costlib modules (dotted names), as loaded by this process.

    Part of a key so that editing the code that computes a cached result (without bumping the
    version) does not serve results of the old code.
    """
    root = Path(costlib.__file__).resolve().parent
    paths = []
    for module in modules:
        rel = Path(*module.split(".")[1:])
        path = root / rel.with_suffix(".py")
        paths.append(path if path.is_file() else root / rel / "__init__.py")
    return digest([VERSION, [sig[1:] for sig in file_signature(paths)]])


def load(name: str, key) -> object | None:
    """The value stored as ``name`` under ``key``, or None (no entry, other key, unreadable)."""
    where = cache_dir()
    if where is None:
        return None
    try:
        doc = json.loads((where / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("key") != digest(key) or "value" not in doc:
        return None
    return doc["value"]


def store(name: str, key, value) -> bool:
    """Store ``value`` (JSON-able) as ``name`` under ``key``; False when it could not be written.

    The entry is written to a temporary file beside its final name and renamed into place
    (:func:`os.replace` is atomic), so a concurrent reader never sees half an entry.
    """
    where = cache_dir()
    if where is None:
        return False
    path = where / name
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"key": digest(key), "version": VERSION, "value": value}, f,
                      separators=(",", ":"))
        os.replace(tmp, path)
        return True
    except (OSError, ValueError, TypeError):
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return False


def prune(folder: str, keep: int) -> None:
    """Delete the oldest entries of a cache sub-folder beyond the ``keep`` newest (best effort)."""
    where = cache_dir()
    if where is None:
        return
    try:
        entries = [e for e in os.scandir(where / folder) if e.is_file() and not e.name.startswith(".")]
        if len(entries) <= keep:
            return
        entries.sort(key=lambda e: e.stat().st_mtime_ns, reverse=True)
        for e in entries[keep:]:
            os.unlink(e.path)
    except OSError:
        pass
