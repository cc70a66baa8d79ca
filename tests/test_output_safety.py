"""Output folders under hostile conditions: folders fleetsim did not write, full or read-only
disks, file size limits, stale temporary folders, an output that cannot encode the text.

Issue 12, "Data loss" and "Tracebacks instead of a clear error": nothing fleetsim did not
write is ever deleted, a disk error is one line ``fleetsim: error: …`` with exit status 2, and
nothing is left half-written.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main
from sim.errors import OutputError, ValidationError
from sim.outputs import MARKER, check_out_dir, write_outputs
from sim.sweeps import CACHE_MARKER, sweep_cache_dir

SWEEP = ["sweep", "ordos-123", "--reps", "2", "--workers", "1", "-q", "--no-figures"]
RUN = ["run", "ordos-123", "--reps", "2", "--no-figures", "-q"]


def _fleetsim(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """``fleetsim ARGS`` in a fresh interpreter (bounded in time)."""
    env = {k: v for k, v in os.environ.items() if k != "DASK_SCHEDULER_ADDRESS"}
    env.update(kwargs.pop("env", {}))
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        **kwargs,
    )


def _leftovers(parent: Path) -> list[str]:
    """Hidden temporary siblings fleetsim may have left in ``parent``."""
    return sorted(p.name for p in parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


# ---------------------------------------------------------------------------------------------
# DIR.partial: only a sweep cache fleetsim wrote is deleted or reused
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("resume", [False, True])
def test_sweep_never_deletes_a_partial_folder_it_did_not_write(tmp_path, capsys, resume):
    mine = tmp_path / "results.partial"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious", encoding="utf-8")
    extra = ["--resume"] if resume else []
    assert main([*SWEEP, "--out", str(tmp_path / "results"), *extra]) == 2
    err = capsys.readouterr().err
    assert "fleetsim: error: sweep cache" in err and "did not write" in err
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.partial"]


def test_sweep_from_inside_a_partial_folder_keeps_the_working_folder(tmp_path, monkeypatch, capsys):
    work = tmp_path / "proj.partial"
    work.mkdir()
    (work / "scenario.yaml").write_text("name: mine\n", encoding="utf-8")
    (work / CACHE_MARKER).write_text("even with a marker\n", encoding="utf-8")
    monkeypatch.chdir(work)
    assert main([*SWEEP, "--out", "../proj"]) == 2
    assert "working folder" in capsys.readouterr().err
    assert (work / "scenario.yaml").read_text(encoding="utf-8") == "name: mine\n"


def test_a_cache_fleetsim_wrote_is_marked_and_discarded_without_resume(tmp_path, capsys):
    out = tmp_path / "out"
    cache = sweep_cache_dir(out)
    cache.mkdir()
    (cache / CACHE_MARKER).write_text("", encoding="utf-8")
    (cache / "0123.json").write_text("{}", encoding="utf-8")
    assert main([*SWEEP, "--out", str(out)]) == 0
    assert not cache.exists() and (out / MARKER).is_file()


# ---------------------------------------------------------------------------------------------
# The output's parent is checked before simulating
# ---------------------------------------------------------------------------------------------


def test_an_out_below_a_file_is_refused_before_simulating(tmp_path, capsys):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(ValidationError, match="is not a folder"):
        check_out_dir(tmp_path / "file" / "results")
    assert main([*RUN, "--out", str(tmp_path / "file" / "results")]) == 2
    assert "fleetsim: error: --out" in capsys.readouterr().err


def test_out_must_be_a_path():
    with pytest.raises(ValidationError, match=r"`out` must be a folder path.*int"):
        check_out_dir(123)


def _without_root_overrides() -> None:
    """In the child before exec: drop root's right to write where permissions forbid it
    (``CAP_DAC_OVERRIDE``, ``CAP_DAC_READ_SEARCH`` from the bounding set), so a read-only
    folder is read-only for root too. Nothing happens for another user."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            os._exit(77)


def test_a_read_only_parent_is_refused_before_simulating(tmp_path):
    parent = tmp_path / "read-only"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        out = parent / "results"
        done = _fleetsim(*RUN, "--out", str(out), preexec_fn=_without_root_overrides)
        if done.returncode == 77:
            pytest.skip("cannot drop root's permission overrides here")
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("fleetsim: error: --out") and "permission" in done.stderr
        assert "replications per incident" not in done.stdout  # refused before simulating
        assert list(parent.iterdir()) == []
    finally:
        parent.chmod(0o755)


# ---------------------------------------------------------------------------------------------
# Disk errors while writing
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EFBIG, errno.EACCES, errno.EROFS])
def test_a_disk_error_while_writing_leaves_nothing(tmp_path, code):
    def full(path: Path) -> None:
        path.write_bytes(b"\x89PNG partial")
        raise OSError(code, os.strerror(code), str(path))

    with pytest.raises(OutputError, match=r"--out .*cannot write") as info:
        write_outputs(tmp_path / "out", {"a.txt": "x", "fig.png": full})
    assert isinstance(info.value, OSError)
    assert list(tmp_path.iterdir()) == []


def test_a_disk_error_keeps_the_previous_results(tmp_path):
    out = write_outputs(tmp_path / "out", {"old.txt": "old"})

    def full(path: Path) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    with pytest.raises(OutputError, match="the disk is full"):
        write_outputs(out, {"new.txt": "new", "fig.png": full})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (out / "old.txt").read_text() == "old"


def test_a_file_size_limit_is_a_clear_error(tmp_path):
    """``ulimit -f`` (RLIMIT_FSIZE): a real EFBIG from the kernel while writing the figures."""
    limit = 64 * 1024  # well above the CSV and JSON files, below the map

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out = tmp_path / "out"
    env = {"MPLCONFIGDIR": str(tmp_path / "mpl")}
    done = _fleetsim(
        "run", "ordos-123", "--reps", "2", "-q", "--out", str(out), preexec_fn=cap, env=env
    )
    assert done.returncode == 2, done.stderr
    assert "fleetsim: error: --out" in done.stderr and "file size limit" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists() and _leftovers(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# Temporary folders of killed runs are cleaned by the next run
# ---------------------------------------------------------------------------------------------


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    return int(child.stdout)


def test_the_next_run_removes_temporary_folders_of_killed_runs(tmp_path):
    dead = _dead_pid()
    stale = tmp_path / f".out.tmp-{dead}-abc123"
    stale.mkdir()
    (stale / MARKER).write_text("", encoding="utf-8")
    (stale / "summary.json").write_text("{", encoding="utf-8")
    empty = tmp_path / f".out.tmp-{dead}-probe-xyz"
    empty.mkdir()
    alive = tmp_path / f".out.tmp-{os.getppid()}-abc123"  # a running process's: kept
    alive.mkdir()
    foreign = tmp_path / f".out.tmp-{dead}-notes"  # not fleetsim's (no marker): kept
    foreign.mkdir()
    (foreign / "notes.txt").write_text("precious", encoding="utf-8")
    write_outputs(tmp_path / "out", {"a.txt": "x"})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out", alive.name, foreign.name])


def test_the_previous_results_of_a_killed_replacement_are_restored(tmp_path):
    # Killed between moving the old folder aside and moving the new one in: DIR is absent.
    old = tmp_path / f".out.old-{_dead_pid()}"
    old.mkdir()
    (old / MARKER).write_text("", encoding="utf-8")
    (old / "summary.json").write_text("{}", encoding="utf-8")
    from sim.folders import clean_stale_siblings

    assert clean_stale_siblings(tmp_path / "out", MARKER) == [old]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (tmp_path / "out" / "summary.json").read_text(encoding="utf-8") == "{}"


# ---------------------------------------------------------------------------------------------
# Text output on a terminal that cannot encode it
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def chinese_name(tmp_path) -> Path:
    """A scenario named in Chinese (a name no ASCII terminal can show)."""
    path = tmp_path / "ordos.yaml"
    shipped = Path(__file__).resolve().parents[1] / "scenarios" / "ordos-123.yaml"
    path.write_text(f"extends: {shipped}\nname: 鄂尔多斯\n", encoding="utf-8")
    return path


def test_json_on_an_ascii_only_output_is_the_same_data(chinese_name):
    done = _fleetsim("run", str(chinese_name), "--reps", "2", "-q", "--json",
                     env={"PYTHONIOENCODING": "ascii"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["scenario"] == "鄂尔多斯"  # \u escapes, not "????"


@pytest.mark.parametrize(
    "command", [["validate"], ["run", "--reps", "2", "-q"], ["sweep", *SWEEP[2:]]]
)
def test_an_ascii_only_output_does_not_crash(chinese_name, command):
    done = _fleetsim(command[0], str(chinese_name), *command[1:],
                     env={"PYTHONIOENCODING": "ascii"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    done.stdout.encode("ascii")
