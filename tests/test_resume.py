"""``fleetsim sweep --resume``: an interrupted sweep continues from the sites it finished.

Finished sites are cached in ``<out>.partial/`` (one JSON file per site, keyed by a hash of
the computation); the resumed sweep simulates only the others and writes exactly the files an
uninterrupted sweep writes.
"""

from __future__ import annotations

import dataclasses
import hashlib
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


# ---------------------------------------------------------------------------------------------
# Cache entries are checked before they are trusted
# ---------------------------------------------------------------------------------------------


def _redigest(entry: dict) -> dict:
    """An edit that also fixes the entry's digest (so only the schema checks can catch it)."""
    text = json.dumps([entry["key"], entry["site"], entry["fields"]], sort_keys=True)
    return entry | {"digest": hashlib.sha256(text.encode()).hexdigest()}


EDITS = {
    "p_met 0.99": (lambda e: e | {"fields": e["fields"] | {"p_met": 0.99}}, "edited"),
    "site EVIL": (lambda e: e | {"site": "EVIL"}, "another site"),
    "fields {}": (lambda e: e | {"fields": {}}, "does not hold the fields"),
    "p_met banana": (lambda e: e | {"fields": e["fields"] | {"p_met": "banana"}}, "edited"),
    "banana, digest fixed": (
        lambda e: _redigest(e | {"fields": e["fields"] | {"p_met": "banana"}}),
        "bad p_met",
    ),
    "verdict, digest fixed": (
        lambda e: _redigest(e | {"fields": e["fields"] | {"verdict": "maybe"}}),
        "verdict",
    ),
    "tier, digest fixed": (
        lambda e: _redigest(e | {"fields": e["fields"] | {"tier": "central", "deadline_min": 1}}),
        "tier or deadline",
    ),
    "truncated": (None, "cannot be read"),
    "a list": (lambda e: [e], "not a cache entry"),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_invalid_cache_entry_is_recomputed_with_a_note(ordos, tmp_path, simulated, edit):
    scenario = ordos_123(replications=3)
    cache = tmp_path / "cache"
    first = sweep(scenario, "seats", network=ordos, cache_dir=cache)
    path = sorted(cache.glob("*.json"))[0]
    entry = json.loads(path.read_text(encoding="utf-8"))
    change, message = EDITS[edit]
    if change is None:
        path.write_text(path.read_text(encoding="utf-8")[:40], encoding="utf-8")
    else:
        path.write_text(json.dumps(change(entry)), encoding="utf-8")

    simulated.clear()
    again = sweep(scenario, "seats", network=ordos, cache_dir=cache)
    assert simulated == [entry["site"]]  # only the damaged site, recomputed
    assert again.resumed == 8 and again.rows == first.rows
    [note] = again.cache_notes
    assert entry["site"] in note and message in note and note.endswith("recomputed")
    assert json.loads(path.read_text(encoding="utf-8")) == entry  # rewritten as it was

    simulated.clear()  # and the cache is whole again
    assert sweep(scenario, "seats", network=ordos, cache_dir=cache).cache_notes == []
    assert simulated == []


def test_resume_notes_an_edited_entry_on_stderr_and_writes_true_results(tmp_path, capsys):
    full, out = tmp_path / "full", tmp_path / "out"
    assert main([*ARGS, "--out", str(full)]) == 0
    # A finished cache for `out`, with one entry edited to a better result.
    sweep(ordos_123(), "seats", replications=4, cache_dir=sweep_cache_dir(out))
    path = sorted(sweep_cache_dir(out).glob("*.json"))[0]
    entry = json.loads(path.read_text(encoding="utf-8"))
    entry["fields"]["p_met"] = 0.99
    path.write_text(json.dumps(entry), encoding="utf-8")
    capsys.readouterr()
    loud = [a for a in ARGS if a != "-q"]
    assert main([*loud, "--out", str(out), "--resume"]) == 0
    err = capsys.readouterr().err
    assert f"site {entry['site']!r}" in err and "recomputed" in err
    assert "resumed: 8 of 9 sites" in err
    for name in FILES:
        assert (out / name).read_bytes() == (full / name).read_bytes(), name
