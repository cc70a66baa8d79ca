"""The on-disk cache of loaded networks: a value built from a file, kept until the file changes.

Loading and cleaning a large OSM extract takes minutes; its result depends only on the file's
bytes and on the loader. :func:`load_or_build` keeps that result in one file per source under
:func:`cache_dir`, keyed by

* the SHA-256 of the source file's bytes (an edited file is a new key: never stale, whatever
  its path or modification time),
* the loader fingerprint (:func:`loader_fingerprint`: the SHA-256 of the source code of the
  modules that build and define the cached value, and the versions of the libraries it comes
  from, so a new fleetsim or OSMnx rebuilds the entry),
* the caller's loader options (e.g. which reader parsed the file).

An entry is one file: a magic line, a JSON header (the full key, the payload's size and
SHA-256) and the payload (a pickle). Before the payload is unpickled the header must match
the expected key exactly and the payload its size and hash, and the value its expected type;
otherwise the entry is corrupted or foreign and is rebuilt, with a note on stderr, never
trusted. Entries are written to a temporary file in the same folder and renamed into place
(atomic: a reader sees the old entry, the new one or none). An unwritable cache folder costs
a note, never a failure. The cache only holds what this user's own runs wrote (pickles are
code: do not point ``FLEETSIM_CACHE_DIR`` at a folder others can write).

Location: ``$FLEETSIM_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/fleetsim``, else
``~/.cache/fleetsim``; entries live in its ``networks/`` folder and may be deleted at any time.
``FLEETSIM_NO_CACHE=1`` or :func:`bypassed` (the CLI's ``--no-cache``) neither reads nor
writes the cache.

This module knows nothing of networks (it imports no fleetsim module but the leaf
:mod:`sim.gcpause`): :mod:`sim.netload`
says what is built, cached and checked.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from sim.gcpause import collector_paused

__all__ = [
    "CACHE_DIR_ENV",
    "CACHE_FORMAT",
    "NO_CACHE_ENV",
    "CacheStats",
    "bypassed",
    "cache_dir",
    "enabled",
    "entry_path",
    "file_sha256",
    "load_or_build",
    "loader_fingerprint",
    "stats",
]

#: Environment variable naming the cache folder (overrides the XDG location).
CACHE_DIR_ENV = "FLEETSIM_CACHE_DIR"
#: Environment variable that turns the cache off when set to anything but ``""`` or ``"0"``.
NO_CACHE_ENV = "FLEETSIM_NO_CACHE"
#: Version of the entry layout; bumped when the file format itself changes.
CACHE_FORMAT = 1

_MAGIC = b"fleetsim-cache\n"
_MAX_HEADER = 64 * 1024
#: Modules whose code decides what a cached network holds (see :func:`loader_fingerprint`).
_LOADER_MODULES = (
    "netcache.py",
    "netload.py",
    "netpbf.py",
    "network.py",
    "places.py",
    "geo.py",
    "vehicles.py",
)
_LOADER_PACKAGES = ("osmnx", "osmium", "networkx", "numpy", "scipy")

T = TypeVar("T")


@dataclass
class CacheStats:
    """Counts of this process's cache use (what tests and benchmarks read).

    Attributes
    ----------
    hits
        Entries read and trusted.
    builds
        Values built (the source file parsed): misses, bypasses and rebuilt entries.
    rebuilt
        Entries found corrupted or foreign and rebuilt.
    """

    hits: int = 0
    builds: int = 0
    rebuilt: int = 0


#: This process's counts.
stats = CacheStats()
_bypass_depth = [0]


def cache_dir() -> Path:
    """The cache folder: ``$FLEETSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/fleetsim``, else
    ``~/.cache/fleetsim``.

    Returns
    -------
    pathlib.Path
        The folder (not created here).
    """
    explicit = os.environ.get(CACHE_DIR_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "fleetsim"


def enabled() -> bool:
    """Whether the cache is used: not inside :func:`bypassed`, and ``FLEETSIM_NO_CACHE`` unset."""
    return _bypass_depth[0] == 0 and os.environ.get(NO_CACHE_ENV, "").strip() in ("", "0")


@contextlib.contextmanager
def bypassed() -> Iterator[None]:
    """Neither read nor write the cache inside this block (the CLI's ``--no-cache``)."""
    _bypass_depth[0] += 1
    try:
        yield
    finally:
        _bypass_depth[0] -= 1


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, hex.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    str
        64 hex digits.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_FINGERPRINT: list[str] = []


def loader_fingerprint() -> str:
    """The loader version: what must match for a cached network to be used.

    The SHA-256 of the source code of the fleetsim modules that load, clean and define a
    network, of :data:`CACHE_FORMAT`, of the running Python's major and minor version and of
    the installed versions of OSMnx, pyosmium, networkx, NumPy and SciPy. Any change to these
    rebuilds every entry. Computed once per process.

    Returns
    -------
    str
        64 hex digits.
    """
    if not _FINGERPRINT:
        digest = hashlib.sha256(f"format {CACHE_FORMAT}\n".encode())
        digest.update(f"python {sys.version_info[0]}.{sys.version_info[1]}\n".encode())
        package = resources.files("sim")
        for name in _LOADER_MODULES:
            digest.update(name.encode() + b"\n" + package.joinpath(name).read_bytes())
        for dist in _LOADER_PACKAGES:
            digest.update(f"\n{dist} {_version(dist)}".encode())
        _FINGERPRINT.append(digest.hexdigest())
    return _FINGERPRINT[0]


def _version(dist: str) -> str:
    """A library's version: its ``__version__`` when already imported (reading the installed
    metadata costs milliseconds a package), else its metadata."""
    module = sys.modules.get(dist)
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    from importlib import metadata  # stdlib, but it imports the email package: only here

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def _key(content: str, options: Mapping[str, str]) -> dict[str, Any]:
    return {
        "format": CACHE_FORMAT,
        "content_sha256": content,
        "loader": loader_fingerprint(),
        "options": {str(k): str(v) for k, v in sorted(options.items())},
    }


def entry_path(path: str | os.PathLike[str], options: Mapping[str, str]) -> Path:
    """The cache file of ``path`` loaded with ``options`` (which may not exist yet).

    Parameters
    ----------
    path
        The source file.
    options
        The loader options that change what is built.

    Returns
    -------
    pathlib.Path
        ``<cache_dir>/networks/<key hash>.pickle``.
    """
    return _entry_path(_key(file_sha256(path), options))


def _entry_path(key: Mapping[str, Any]) -> Path:
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:40]
    return cache_dir() / "networks" / f"{name}.pickle"


def load_or_build(
    path: str | os.PathLike[str],
    build: Callable[[], T],
    *,
    kind: type[T],
    options: Mapping[str, str],
) -> T:
    """The value built from ``path``: read from the cache, or built and written to it.

    Parameters
    ----------
    path
        The source file (its bytes are hashed into the key).
    build
        Builds the value from the file (called on a miss, a bypass or a bad entry). The value
        is pickled before it is returned, so it may be changed afterwards.
    kind
        The type the value must have; a cached value of another type is a bad entry.
    options
        Loader options (strings) that change what ``build`` makes; part of the key.

    Returns
    -------
    T
        The value, from the cache or freshly built.
    """
    if not enabled():
        stats.builds += 1
        return build()
    key = _key(file_sha256(path), options)
    entry = _entry_path(key)
    value, problem = _read(entry, key, kind)
    if value is not None:
        stats.hits += 1
        return value
    if problem is not None:
        stats.rebuilt += 1
        _note(f"network cache entry {entry} is {problem}; rebuilding it")
    stats.builds += 1
    value = build()
    _write(entry, key, value)
    return value


def _read(entry: Path, key: Mapping[str, Any], kind: type[T]) -> tuple[T | None, str | None]:
    """``(value, None)`` for a good entry, ``(None, None)`` for none, ``(None, why)`` else."""
    try:
        fh = open(entry, "rb")  # closed by the `with` below
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"unreadable ({exc.strerror or exc})"
    with fh:
        try:
            if fh.read(len(_MAGIC)) != _MAGIC:
                return None, "not a fleetsim cache file"
            header = json.loads(fh.readline(_MAX_HEADER))
            if not isinstance(header, dict) or header.get("key") != key:
                return None, "for another file or loader version (foreign)"
            payload = fh.read()
        except (OSError, ValueError) as exc:
            return None, f"corrupted ({exc})"
    if len(payload) != header.get("payload_bytes") or (
        hashlib.sha256(payload).hexdigest() != header.get("payload_sha256")
    ):
        return None, "corrupted (its payload does not match its hash)"
    try:
        value = _unpickle(payload)
    except Exception as exc:  # a hash-correct payload of an incompatible build
        return None, f"unreadable ({type(exc).__name__}: {exc})"
    if not isinstance(value, kind):
        return None, f"of the wrong kind ({type(value).__name__})"
    return value, None


def _unpickle(payload: bytes) -> Any:
    """``pickle.loads`` with the cyclic garbage collector paused.

    A network's graph unpickles into millions of dicts and tuples, and every 700 new
    containers start a collection that walks the young ones: on a 188,000-node import that
    was two thirds of the time (5.1 s, 1.5 s paused). Nothing unpickled is garbage yet, so
    the pauses collect nothing.
    """
    with collector_paused():
        return pickle.loads(payload)


def _write(entry: Path, key: Mapping[str, Any], value: Any) -> None:
    """Write an entry atomically; a cache that cannot be written costs a note, not the run."""
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    header = {
        "key": key,
        "payload_bytes": len(payload),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }
    tmp = None
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{entry.stem}.", suffix=".tmp", dir=entry.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(_MAGIC)
            fh.write(json.dumps(header, sort_keys=True).encode() + b"\n")
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, entry)
        tmp = None
    except OSError as exc:
        _note(f"cannot write the network cache {entry.parent} ({exc.strerror or exc}); going on")
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _note(text: str) -> None:
    print(f"fleetsim: note: {text}", file=sys.stderr, flush=True)
