"""Folders fleetsim writes: ownership markers, safe replacement, temporary siblings, disk errors.

fleetsim replaces or deletes a folder only if it wrote it: every such folder holds a *marker
file* (``.fleetsim-output`` in a results folder, ``.fleetsim-sweep-cache`` in a sweep's
``DIR.partial`` cache), and anything else that is not empty is refused before any work is done
(:func:`check_replaceable`). Results are written into a temporary sibling ``.DIR.tmp-<pid>-*``
that is renamed into place at the end; a sibling left behind by a process that was killed
(SIGKILL, a power cut) is removed by the next run writing the same folder
(:func:`clean_stale_siblings`). Disk errors (no space, no permission, a read-only disk, a file
size limit) become one :class:`~sim.errors.OutputError` naming the folder (:func:`disk_error`).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from pathlib import Path

from sim.errors import OutputError, ValidationError
from sim.signals import raise_held, stop_signals_deferred


def check_replaceable(
    path: str | os.PathLike[str],
    marker: str,
    what: str,
    hint: str | None = None,
) -> Path:
    """Validate a folder fleetsim may create, replace or delete; return it resolved.

    Parameters
    ----------
    path
        The folder.
    marker
        Name of the marker file that folders of this kind hold when fleetsim wrote them.
    what
        How to name the folder in messages (e.g. ``--out 'results'``).
    hint
        What the user can do instead (default: give a new or empty folder).

    Raises
    ------
    ValidationError
        If the path is the working folder or one of its parents, exists and is not a folder,
        or is a non-empty folder without the marker file (fleetsim did not write it, so it
        must not be replaced).
    """
    out = Path(path).resolve()
    cwd = Path.cwd().resolve()
    if out == cwd or out in cwd.parents or not out.name:
        raise ValidationError(
            f"{what}: the working folder or one of its parents; "
            f"{hint or 'give a new folder for the results'}"
        )
    if out.exists() and not out.is_dir():
        raise ValidationError(f"{what}: exists and is not a folder")
    if out.is_dir() and not is_owned(out, marker):
        raise ValidationError(
            f"{what}: a non-empty folder that fleetsim did not write (no {marker} file in it); "
            "fleetsim only replaces or deletes folders it wrote, so "
            f"{hint or 'give a new or empty folder (or remove it yourself)'}"
        )
    return out


def is_owned(folder: Path, marker: str) -> bool:
    """Whether fleetsim may delete ``folder``: an empty folder, or one holding ``marker``."""
    try:
        return (folder / marker).is_file() or not any(folder.iterdir())
    except OSError:
        return False


def check_writable(folder: Path, what: str) -> None:
    """Check that fleetsim can create ``folder`` (or write into it), before any work is done.

    A temporary folder is made and removed in ``folder``'s parent (in its nearest existing
    ancestor when the parent does not exist yet): this catches missing permissions and
    read-only disks, whoever runs fleetsim.

    Raises
    ------
    OutputError
        When the folder cannot be created there.
    ValidationError
        When a parent of the folder is a file.
    """
    parent = folder.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ValidationError(f"{what}: {str(parent)!r} is not a folder")
    try:
        with stop_signals_deferred() as caught:  # no probe left behind by a Ctrl-C
            os.rmdir(tempfile.mkdtemp(prefix=f"{temp_prefix(folder)}probe-", dir=parent))
    except OSError as exc:
        raise disk_error(exc, what) from None
    raise_held(caught)


def temp_prefix(folder: Path) -> str:
    """Name prefix of this process's temporary siblings of ``folder``: ``.NAME.tmp-PID-``."""
    return f".{folder.name}.tmp-{os.getpid()}-"


def old_sibling(folder: Path) -> Path:
    """Where this process moves a folder's previous content while replacing it."""
    return folder.with_name(f".{folder.name}.old-{os.getpid()}")


def clean_stale_siblings(folder: Path, marker: str) -> list[Path]:
    """Remove the temporary siblings of ``folder`` left by fleetsim processes that died.

    A sibling counts as stale when its name is one this module gives (``.NAME.tmp-PID-*``,
    ``.NAME.old-PID``), the process ``PID`` no longer exists, and the sibling is empty or
    holds ``marker``. A stale ``.NAME.old-PID`` is a previous result that was being replaced:
    it is moved back to ``folder`` when ``folder`` is absent, else removed.

    Parameters
    ----------
    folder
        The output folder.
    marker
        The marker file of fleetsim's folders of this kind.

    Returns
    -------
    list of pathlib.Path
        The siblings removed or restored.
    """
    pattern = re.compile(rf"\.{re.escape(folder.name)}\.(tmp|old)-(\d+)(-.*)?")
    done = []
    try:
        siblings = list(folder.parent.iterdir())
    except OSError:
        return done
    for path in siblings:
        m = pattern.fullmatch(path.name)
        if m is None or path.is_symlink() or not path.is_dir() or not is_owned(path, marker):
            continue
        if _alive(int(m.group(2))):
            continue
        if m.group(1) == "old" and m.group(3) is None and not folder.exists():
            path.rename(folder)
        else:
            shutil.rmtree(path, ignore_errors=True)
        done.append(path)
    return done


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid > 0  # another user's process (or no such pid at all)
    return True


#: What the errno of a disk error means, in words a user acts on.
_CAUSES = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "a file exceeds the file size limit (ulimit -f)",
    errno.EROFS: "the disk is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "a file name is too long",
}


def disk_error(exc: OSError, what: str) -> OutputError:
    """The :class:`~sim.errors.OutputError` for an ``OSError`` met while writing ``what``."""
    cause = _CAUSES.get(exc.errno or 0) or exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    return OutputError(f"{what}: cannot write: {cause}{where}")


__all__ = [
    "check_replaceable",
    "check_writable",
    "clean_stale_siblings",
    "disk_error",
    "is_owned",
    "old_sibling",
    "temp_prefix",
]
