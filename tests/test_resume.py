"""``fleetsim sweep --resume``: an interrupted sweep continues from the sites it finished.

Finished sites are cached in ``<out>.partial/`` (one JSON file per site, keyed by a hash of
the computation); the resumed sweep simulates only the others and writes exactly the files an
uninterrupted sweep writes.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

import sim.experiment
from sim.builtin import ordos_123
from sim.cli import main
from sim.progress import ProgressBar
from sim.sweeps import sweep, sweep_cache_dir

ARGS = ["sweep", "ordos-123", "--reps", "4", "--workers", "1", "-q", "--no-figures"]
FILES = ("summary.json", "sites.csv", "sites.geojson", "scenario.resolved.yaml")


@pytest.fixture
def simulated(monkeypatch):
    """Names of the incidents (sites) whose replications run, in order."""
    names: list[str] = []
    original = sim.experiment.run_replications

    def spy(plan, seed, reps, **kwargs):
        if plan.name not in names:
            names.append(plan.name)
        return original(plan, seed, reps, **kwargs)

    monkeypatch.setattr(sim.experiment, "run_replications", spy)
    return names


def _interrupt_after(monkeypatch, updates: int) -> None:
    calls = []
    original = ProgressBar.update

    def update(self, n: int = 1) -> None:
        calls.append(n)
        if len(calls) == updates:
            raise KeyboardInterrupt
        original(self, n)

    monkeypatch.setattr(ProgressBar, "update", update)


def test_resume_is_byte_identical_and_runs_only_the_remaining_sites(
    tmp_path, monkeypatch, capsys, simulated
):
    full = tmp_path / "full"
    assert main([*ARGS, "--out", str(full)]) == 0
    every_site = list(simulated)
    assert len(every_site) == 9
    assert not sweep_cache_dir(full).exists()  # removed once the output is written

    # Interrupt during the 5th site (4 replications, one per progress update).
    simulated.clear()
    out = tmp_path / "out"
    with monkeypatch.context() as m:
        _interrupt_after(m, 4 * 4 + 2)
        assert main([*ARGS, "--out", str(out)]) == 130
    assert not out.exists()
    cache = sweep_cache_dir(out)
    cached = [json.loads(p.read_text())["site"] for p in cache.glob("*.json")]
    assert sorted(cached) == sorted(every_site[:4])
    assert simulated == every_site[:5]

    simulated.clear()
    capsys.readouterr()
    loud = [a for a in ARGS if a != "-q"]
    assert main([*loud, "--out", str(out), "--resume"]) == 0
    assert simulated == every_site[4:]  # only the sites not finished before
    assert "resumed: 4 of 9 sites" in capsys.readouterr().err
    for name in FILES:
        assert (out / name).read_bytes() == (full / name).read_bytes(), name
    assert not cache.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full", "out"]


def test_without_resume_an_old_cache_is_discarded(tmp_path, monkeypatch, simulated):
    out = tmp_path / "out"
    with monkeypatch.context() as m:
        _interrupt_after(m, 4 * 3 + 1)
        assert main([*ARGS, "--out", str(out)]) == 130
    assert len(list(sweep_cache_dir(out).glob("*.json"))) == 3
    simulated.clear()
    assert main([*ARGS, "--out", str(out)]) == 0
    assert len(simulated) == 9
    assert not sweep_cache_dir(out).exists()


def test_resume_needs_out(capsys):
    assert main([*ARGS, "--resume"]) == 2
    assert "--resume needs --out" in capsys.readouterr().err


def test_a_changed_computation_never_reuses_the_cache(ordos, tmp_path, simulated):
    scenario = ordos_123(replications=3)
    cache = tmp_path / "cache"
    first = sweep(scenario, "seats", network=ordos, cache_dir=cache)
    assert len(list(cache.glob("*.json"))) == 9 and first.resumed == 0

    simulated.clear()
    again = sweep(scenario, "seats", network=ordos, cache_dir=cache)
    assert simulated == [] and again.resumed == 9
    assert again.rows == first.rows

    slower = dataclasses.replace(scenario, over_request=1.0)
    variants = [
        {"scenario": slower},  # the scenario changed
        {"seed": scenario.seed + 1},
        {"replications": 4},
        {"engine": "simpy"},
    ]
    for change in variants:
        simulated.clear()
        kwargs = {"scenario": scenario, "network": ordos, "cache_dir": cache} | change
        res = sweep(sites="seats", **kwargs)
        assert res.resumed == 0 and len(simulated) == 9, change
