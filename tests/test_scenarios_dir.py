"""Every file in ``scenarios/`` validates and runs; the built-in ``ordos-123`` is that file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.builtin import OTOG_FRONT_ROAD_POINT, ordos_123
from sim.cli import main
from sim.experiment import run
from sim.scenario import load_scenario, load_scenario_with_network, validate_file

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
FILES = sorted(SCENARIOS.glob("*.yaml"))
REQUIRED = {
    "ordos-123.yaml",
    "dongsheng-quarantine-transfer.yaml",
    "otog-front-supplies.yaml",
    "jungar-hazmat-spill.yaml",
    "winter-storm.yaml",
    "checkpoints-2022.yaml",
    "g65-toll-removal.yaml",
}


def test_the_required_scenarios_exist() -> None:
    assert REQUIRED <= {p.name for p in FILES}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_scenario_file_validates_and_runs(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate_file(path) == []
    assert path.read_text(encoding="utf-8").startswith("#")  # commented for a planner
    code, out, err = _cli(capsys, "run", path, "--reps", 3, "--json", "--quiet")
    assert code == 0, err
    summary = json.loads(out)
    scenario = load_scenario(path)
    assert summary["scenario"] == scenario.name == path.stem
    assert [i["name"] for i in summary["incidents"]] == [i.name for i in scenario.incidents]


def _cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_builtin_is_the_ordos_123_file() -> None:
    from_file = load_scenario(SCENARIOS / "ordos-123.yaml")
    assert ordos_123() == from_file
    assert from_file.incidents[2].location == OTOG_FRONT_ROAD_POINT
    a = run(ordos_123(replications=8, seed=11)).summary
    b = run(from_file, replications=8, seed=11).summary
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_variants_differ_from_their_base_only_where_they_say() -> None:
    base = load_scenario(SCENARIOS / "ordos-123.yaml")
    storm = load_scenario(SCENARIOS / "winter-storm.yaml")
    assert storm.incidents == base.incidents and storm.fleet == base.fleet
    assert (storm.speed_factor, storm.start_hour, storm.period) == (0.6, 22.5, "night")
    assert storm.trip_factor.sigma > base.trip_factor.sigma

    plain, net = load_scenario_with_network(SCENARIOS / "checkpoints-2022.yaml")
    green = load_scenario(SCENARIOS / "checkpoints-2022-green.yaml")
    assert len(plain.checkpoints) == 85
    assert all(c.background_per_min > 0 for c in plain.checkpoints)
    assert {c.green for c in plain.checkpoints} == {"none"}
    assert {c.green for c in green.checkpoints} == {"priority"}
    assert [c.node_id for c in green.checkpoints] == [c.node_id for c in plain.checkpoints]
    assert plain.incidents == base.incidents

    before = load_scenario(SCENARIOS / "g65-toll-removal.yaml")
    after = load_scenario(SCENARIOS / "g65-toll-removal-after.yaml")
    assert {c.kind for c in before.checkpoints} == {"toll"} and len(before.checkpoints) == 3
    assert after.checkpoints == ()
    assert after.incidents == before.incidents

    spill = load_scenario(SCENARIOS / "jungar-hazmat-spill.yaml")
    assert [c.road for c in spill.closures] == ["G18"]
    quarantine = load_scenario(SCENARIOS / "dongsheng-quarantine-transfer.yaml")
    assert dict(quarantine.incidents[0].demand) == {"coach": 25, "bus": 31}
    assert net.zone[net.places.locate(quarantine.incidents[0].location)] == "Dongsheng"


def test_scenario_readme_minimal_example_validates(tmp_path: Path) -> None:
    text = (SCENARIOS / "README.md").read_text(encoding="utf-8")
    block = text.split("## A minimal file", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "minimal.yaml"
    path.write_text(block, encoding="utf-8")
    assert validate_file(path) == []
    assert len(block.strip().splitlines()) <= 10


def _yaml_blocks(text: str) -> list[str]:
    return [part.split("```", 1)[0] for part in text.split("```yaml\n")[1:]]


def test_scenario_readme_fleet_and_incident_examples_validate(tmp_path: Path) -> None:
    blocks = _yaml_blocks((SCENARIOS / "README.md").read_text(encoding="utf-8"))
    fleet = next(b for b in blocks if b.startswith("fleet:"))
    incidents = next(b for b in blocks if b.startswith("incidents:"))
    trivial = "incidents: [{location: kangbashi, demand: {taxi: 1}}]\n"
    for i, text in enumerate((fleet + trivial, incidents)):
        path = tmp_path / f"example{i}.yaml"
        path.write_text(text, encoding="utf-8")
        assert validate_file(path) == [], text


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_resolved_file_loads_back_to_the_same_scenario(path: Path, tmp_path: Path) -> None:
    import yaml

    from sim.resolved import resolved_file

    resolved = resolved_file(path)
    assert "extends" not in resolved and resolved["name"] == path.stem
    assert set(resolved["rules"]["deadlines_min"]) == {"central", "banner", "region"}
    assert resolved["fleet"]["base"] == "none" and "move" not in str(resolved["incidents"])
    copy = tmp_path / "elsewhere" / "resolved.yaml"
    copy.parent.mkdir()
    copy.write_text(yaml.safe_dump(resolved, allow_unicode=True, sort_keys=False), "utf-8")
    assert load_scenario(copy) == load_scenario(path)
    assert resolved_file(copy) == resolved  # a fixed point: nothing is lost or added


@pytest.mark.parametrize("scenario", [*FILES, "ordos-123"], ids=lambda p: getattr(p, "name", p))
def test_item4_a_results_folder_reruns_to_the_same_summary(
    scenario: Path | str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11 item 4: ``scenario.resolved.yaml`` validates and reruns byte-identically."""
    first, again = tmp_path / "first", tmp_path / "again"
    code, _, err = _cli(
        capsys, "run", scenario, "--reps", 3, "--seed", 7, "--out", first, "--no-figures", "-q"
    )
    assert code == 0, err
    resolved = first / "scenario.resolved.yaml"
    code, out, err = _cli(capsys, "validate", resolved)
    assert code == 0 and " OK, " in out, out + err
    code, _, err = _cli(capsys, "run", resolved, "--out", again, "--no-figures", "-q")
    assert code == 0, err
    summary = (first / "summary.json").read_bytes()
    assert json.loads(summary)["seed"] == 7 and json.loads(summary)["replications"] == 3
    assert (again / "summary.json").read_bytes() == summary
    assert (again / "incidents.csv").read_bytes() == (first / "incidents.csv").read_bytes()
