"""The regression guard bites: baselines, exact and statistical checks, mutations via overlays."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sim import __version__
from sim.cli import main
from sim.regression import check

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "ordos-123.yaml"
MUTATIONS = ROOT / "tests" / "mutations"


@pytest.fixture(scope="module")
def baselines(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("baselines")
    args = [
        "check",
        "--update",
        "--scenario",
        str(SCENARIO),
        "--baselines",
        str(folder),
        "--reps",
        "60",
        "--workers",
        "1",
        "--quiet",
    ]
    assert main(args) == 0
    return folder


def run_check(baselines: Path, *extra: str) -> int:
    return main(
        [
            "check",
            "--scenario",
            str(SCENARIO),
            "--baselines",
            str(baselines),
            "--workers",
            "1",
            *extra,
        ]
    )


def test_update_records_seed_version_and_then_check_passes(baselines, capsys):
    doc = json.loads((baselines / "ordos-123.json").read_text())
    assert doc["seed"] == 20220630 and doc["replications"] == 60
    assert doc["fleetsim_version"] == __version__
    assert set(doc["incidents"]) == {
        "Kangbashi (central)",
        "Xuejiawan hazmat (banner)",
        "Otog Front road point (region)",
    }
    assert {"p_met", "p50_min", "p90_min", "p95_min", "taxi.p90_min"} <= set(
        doc["incidents"]["Kangbashi (central)"]
    )
    capsys.readouterr()
    assert run_check(baselines) == 0
    out = capsys.readouterr().out
    assert "0 worse than tolerance" in out
    assert "Kangbashi (central)" in out and "p90_min" in out


@pytest.mark.parametrize(
    "mutation,expected",
    [
        (
            "mobilisation-plus-20.yaml",
            ["Kangbashi (central)/p90_min", "Xuejiawan hazmat (banner)/hazmat.p90_min"],
        ),
        ("taxi-speed-minus-20.yaml", ["Kangbashi (central)/taxi.p90_min"]),
    ],
)
def test_mutations_fail_the_check_and_name_the_metrics(baselines, capsys, mutation, expected):
    capsys.readouterr()
    assert run_check(baselines, "--overlay", str(MUTATIONS / mutation)) == 1
    out = capsys.readouterr().out
    for metric in expected:
        assert metric in out
    assert "WORSE" in out


def test_taxi_mutation_leaves_taxi_free_incidents_alone(baselines):
    base = json.loads((baselines / "ordos-123.json").read_text())
    lines = check([SCENARIO], baselines, overlay=MUTATIONS / "taxi-speed-minus-20.yaml")
    worse = {(ln.incident, ln.metric) for ln in lines if ln.status == "WORSE"}
    assert ("Kangbashi (central)", "taxi.p90_min") in worse
    # The Xuejiawan incident requests no taxi: nothing there may move.
    assert not any(inc.startswith("Xuejiawan") for inc, _ in worse)
    assert len(lines) == sum(len(m) for m in base["incidents"].values())


def test_statistical_mode_accepts_new_draws_but_not_a_slower_fleet(baselines, tmp_path):
    """A refactor that changes random-number use = a run with other draws (another seed)."""
    moved = tmp_path / "baselines"
    shutil.copytree(baselines, moved)
    doc_path = moved / "ordos-123.json"
    doc = json.loads(doc_path.read_text())
    doc["seed"] += 1  # the check reruns with the baseline's seed: these are other draws
    doc["replications"] = 200
    doc_path.write_text(json.dumps(doc))
    exact = check([SCENARIO], moved)
    assert any(ln.status == "WORSE" for ln in exact)  # exact mode flags mere noise ...
    stat = check([SCENARIO], moved, statistical=True)
    assert not any(ln.status == "WORSE" for ln in stat)  # ... statistical mode does not
    slower = check(
        [SCENARIO], moved, statistical=True, overlay=MUTATIONS / "mobilisation-plus-20.yaml"
    )
    assert any(ln.status == "WORSE" for ln in slower)


def test_missing_baseline_is_a_clear_error(tmp_path, capsys):
    assert (
        main(["check", "--scenario", str(SCENARIO), "--baselines", str(tmp_path), "--quiet"]) == 2
    )
    assert "no baseline" in capsys.readouterr().err


def test_committed_baselines_cover_every_scenario():
    stems = {p.stem for p in (ROOT / "scenarios").glob("*.yaml")}
    files = {p.stem for p in (ROOT / "regression" / "baselines").glob("*.json")}
    assert stems == files
    for path in (ROOT / "regression" / "baselines").glob("*.json"):
        doc = json.loads(path.read_text())
        assert {"seed", "replications", "fleetsim_version", "tolerance", "incidents"} <= set(doc)
