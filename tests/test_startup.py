"""Start-up work of issue 15: a command imports only what it uses, figures are drawn once.

* ``fleetsim run`` (and every command but ``plan``) does not import the optimiser behind
  ``fleetsim plan`` (sim.cli_plan, sim.optimise, sim.levers, sim.coverage), while ``--help``
  and an unknown command still list ``plan``;
* writing a run's files does not import scipy.stats (only a comparison needs it);
* :func:`sim.plots.save_png` lays a figure out once and draws it once, with the same PNG
  bytes as matplotlib's own ``savefig`` (which draws twice with a layout engine).
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from sim import plots
from sim.builtin import ordos_123
from sim.cli import main
from sim.experiment import run

REPO = Path(__file__).resolve().parents[1]
_PLAN_MODULES = ("sim.cli_plan", "sim.optimise", "sim.levers", "sim.coverage")


def _modules_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(sorted(sys.modules), file=sys.stderr)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return set(eval(done.stderr.strip().splitlines()[-1]))  # a list of module names


def test_a_run_does_not_import_the_optimiser_but_plan_does() -> None:
    parse = "import sim.cli\ntry:\n    sim.cli.main({argv!r})\nexcept SystemExit:\n    pass"
    for argv in (["run", "--help"], ["sweep", "--help"], ["network", "info", "--help"]):
        assert not _modules_after(parse.format(argv=argv)) & set(_PLAN_MODULES), argv
    assert set(_PLAN_MODULES) <= _modules_after(parse.format(argv=["plan", "--help"]))
    assert set(_PLAN_MODULES) <= _modules_after(parse.format(argv=["--help"]))


def test_help_and_errors_still_list_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out
    assert "plan" in listed and "run" in listed and "network" in listed
    with pytest.raises(SystemExit) as info:
        main(["plna"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'plna'" in err and "'plan'" in err and "'run'" in err
    with pytest.raises(SystemExit):
        main(["plan", "--help"])
    assert "usage: fleetsim plan" in capsys.readouterr().out


def test_writing_a_run_does_not_import_scipy_stats() -> None:
    assert "scipy.stats" not in _modules_after("import sim.outputs")


@pytest.fixture(scope="module")
def result(ordos):
    return run(ordos_123(replications=2), network=ordos)


def _savefig(fig) -> bytes:
    """What :func:`sim.plots.save_png` wrote before: matplotlib's savefig, layout engine on."""
    buf = io.BytesIO()
    fig.savefig(buf, dpi=110, format="png", metadata={"Software": None})
    return buf.getvalue()


def test_save_png_gives_the_bytes_of_savefig_and_leaves_the_figure_as_it_was(result) -> None:
    scenario = result.scenario
    plan, reps = result.plans[2], result.results[2]
    makers = [
        lambda: plots.network_map(result.network, scenario, result.plans),
        lambda: plots.arrival_curve(plan, reps, scenario_name=scenario.name),
        lambda: plots.completion_cdf(plan, reps, scenario_name=scenario.name),
        lambda: plots.time_breakdown(result.summary),
    ]
    for make in makers:
        fig = make()
        engine, dpi = fig.get_layout_engine(), fig.dpi
        buf = io.BytesIO()
        plots.save_png(fig, buf)
        assert fig.get_layout_engine() is engine and fig.dpi == dpi
        assert buf.getvalue() == _savefig(make())


def test_a_machine_without_the_compiled_kernels_is_told_why_the_first_run_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fresh checkout sat at "run: 0%" for about a minute while numba compiled the batch
    kernels, without a word. The note is shown when the cache has no index for the current
    source (absent, or older than kernels.py), and only for runs the batch engine may take."""
    import os

    import sim.batch
    from sim.experiment import compile_note

    # This process holds the compiled kernels already (from the real cache): the runs below
    # do not compile whatever NUMBA_CACHE_DIR says, but the note reads the cache folder.
    run(ordos_123(), replications=64, workers=1, engine="batch")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert not sim.batch.kernels_compiled()
    reps = ["--reps", "22", "--workers", "1", "--no-figures"]  # 3 incidents x 22 >= 64
    assert main(["run", "ordos-123", *reps]) == 0
    assert "compiling the batch engine" in capsys.readouterr().err
    for extra in (["-q"], ["--engine", "simpy"]):
        assert main(["run", "ordos-123", *reps, *extra]) == 0
        assert "compiling" not in capsys.readouterr().err, extra
    assert compile_note(63) is None and compile_note(64) is not None

    index = tmp_path / "sim" / "kernels.staging-480.py311.nbi"
    index.parent.mkdir()
    index.write_bytes(b"")
    assert sim.batch.kernels_compiled() and compile_note(64) is None
    assert main(["run", "ordos-123", *reps]) == 0
    assert "compiling" not in capsys.readouterr().err
    source = Path(sim.batch.__file__).with_name("kernels.py").stat().st_mtime
    os.utime(index, (source - 10, source - 10))  # kernels.py edited since: compiled again
    assert not sim.batch.kernels_compiled()
