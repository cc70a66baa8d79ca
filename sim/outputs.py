"""Atomic output folders: a run writes everything into a temporary sibling folder and
renames it into place at the end, so ``--out DIR`` is either absent or complete, never
half-written (also when the run is interrupted or fails).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from sim._errors import ValidationError


def write_outputs(out_dir: str | os.PathLike, files: Mapping[str, str | bytes]) -> Path:
    """Write ``files`` (name → text or bytes) into ``out_dir`` atomically.

    An existing ``out_dir`` is replaced only once the new content is complete.

    Parameters
    ----------
    out_dir
        The output folder.
    files
        File names (relative, no folders) and their content.

    Returns
    -------
    pathlib.Path
        The output folder.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValidationError(f"--out {str(out)!r}: exists and is not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        for name, content in files.items():
            if Path(name).name != name:
                raise ValidationError(f"output file name {name!r} must not contain folders")
            target = tmp / name
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
