"""Sensitivity analysis: ranges files, key paths, designs, rankings, determinism, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.errors import ScenarioError
from sim.keypaths import KeyPathError, ScenarioData, format_path, number_kind, parse
from sim.scenario import load_scenario
from sim.sensitivities import Parameter, load_ranges, sensitivity, sensitivity_table

#: Two incidents, each of 150-200 taxis through ONE registration lane (1 min a vehicle): the
#: lanes decide everything. No hazmat vehicle is requested, so its mobilisation is never read.
ONE_LANE = """\
name: one-lane
staging: {lanes: 1}
incidents:
  - name: Kangbashi taxis
    location: kangbashi
    demand: {taxi: 200}
  - name: Dongsheng taxis
    location: dongsheng
    demand: {taxi: 150}
replications: 4
seed: 7
"""

RANGES = """\
ranges:
  staging.lanes: {low: 1, high: 4}
  weather.speed_factor: {low: 0.95, high: 1.05}
  vehicle_classes.hazmat.mobilisation_factor: {low: 0.8, high: 1.25}
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory, ordos) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("sens")
    (folder / "one-lane.yaml").write_text(ONE_LANE, encoding="utf-8")
    (folder / "ranges.yaml").write_text(RANGES, encoding="utf-8")
    return folder / "one-lane.yaml", folder / "ranges.yaml"


@pytest.fixture(scope="module")
def morris(files):
    scenario_file, ranges_file = files
    return sensitivity(load_scenario(scenario_file), load_ranges(ranges_file), n=3)


def test_the_dominant_parameter_ranks_first_and_an_unread_one_last_with_zero(morris):
    data = morris.to_json()
    assert [i["name"] for i in data["incidents"]] == ["Kangbashi taxis", "Dongsheng taxis"]
    for inc in data["incidents"]:
        ranking = inc["ranking"]
        assert ranking[0]["parameter"] == "staging.lanes"
        assert ranking[0]["p90_min"]["mu_star"] > 30  # minutes: one lane vs four
        last = ranking[-1]
        assert last["parameter"] == "vehicle_classes.hazmat.mobilisation_factor"
        for out in ("p_met", "p90_min"):
            assert last[out]["mu_star"] == 0.0 and last[out]["sigma"] == 0.0
    text = sensitivity_table(morris)
    assert "staging.lanes" in text and "μ*" in text


def test_integer_parameters_stay_integers_and_every_run_is_a_valid_variant(morris):
    lanes = [morris.values(r)["staging.lanes"] for r in range(morris.x.shape[0])]
    assert all(type(v) is int and 1 <= v <= 4 for v in lanes)
    assert len(set(lanes)) >= 2
    p = Parameter(("staging", "lanes"), 1, 4, integer=True)
    assert p.bounds == (0.5, 4.5)
    grid = np.linspace(0.5, 4.5, 4)  # the Morris levels over the widened range
    assert [p.value(x) for x in grid] == [1, 2, 3, 4]
    assert p.value(0.5) == 1 and p.value(4.5) == 4 and p.value(2.49) == 2
    speeds = {morris.values(r)["weather.speed_factor"] for r in range(morris.x.shape[0])}
    assert all(isinstance(v, float) for v in speeds)


def test_sobol_gives_first_and_total_order_indices(files):
    scenario_file, ranges_file = files
    res = sensitivity(load_scenario(scenario_file), load_ranges(ranges_file), method="sobol", n=8)
    assert res.x.shape == (8 * (3 + 2), 3)
    for inc in res.to_json()["incidents"]:
        top = inc["ranking"][0]
        assert top["parameter"] == "staging.lanes"
        assert set(top["p90_min"]) == {"S1", "S1_conf", "ST", "ST_conf"}
        last = inc["ranking"][-1]
        assert last["parameter"] == "vehicle_classes.hazmat.mobilisation_factor"
        assert last["p90_min"]["ST"] == 0.0
    assert "ST P" in sensitivity_table(res)


def test_same_seed_gives_byte_identical_json_serially_and_on_processes(files, tmp_path, capsys):
    scenario_file, ranges_file = files
    args = [
        "sensitivity",
        str(scenario_file),
        "--ranges",
        str(ranges_file),
        "--trajectories",
        "2",
        "--json",
        "-q",
    ]
    assert main([*args, "--workers", "1", "--out", str(tmp_path / "out")]) == 0
    serial = capsys.readouterr().out
    assert main([*args, "--workers", "2"]) == 0
    assert capsys.readouterr().out == serial
    data = json.loads(serial)
    assert data["incidents"][0]["ranking"][0]["parameter"] == "staging.lanes"
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {
        "summary.json",
        "ranking.csv",
        "samples.csv",
        "ranges.yaml",
        "sensitivity.png",
        "scenario.resolved.yaml",
    } <= names
    assert (tmp_path / "out" / "summary.json").read_text(encoding="utf-8") == serial


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "r.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_ranges(path)
    return [str(p) for p in info.value.problems]


def test_ranges_file_problems_name_file_line_key_path_and_value(tmp_path):
    text = (
        "ranges:\n"
        "  staging.lanez: {low: 1, high: 4}\n"
        "  staging.lanes: {low: 1.5, high: 4}\n"
        "  weather.speed_factor: {low: 1.1, high: 0.9}\n"
        "  dispatch.over_request: {low: one, high: 2}\n"
        "  fleet.base: {low: 1, high: 2}\n"
        "  vehicle_classes.taxi.call.lognormal.medain: {low: 1, high: 2}\n"
    )
    problems = _problems(tmp_path, text)
    assert len(problems) == 6
    joined = "\n".join(problems)
    assert "r.yaml:2" in joined and "did you mean 'lanes'" in joined
    assert "r.yaml:3" in joined and "integer parameter" in joined and "1.5" in joined
    assert "r.yaml:4" in joined and "less than high" in joined
    assert "dispatch.over_request.low" in joined and "'one'" in joined
    assert "fleet.base" in joined and "not a number" in joined
    assert "did you mean 'median'" in joined
    assert "unknown key 'rangse'" in "\n".join(_problems(tmp_path, "rangse: {}\nranges: {}\n"))


def test_a_range_the_scenario_cannot_take_is_refused_before_any_run(files, tmp_path):
    scenario_file, _ = files
    path = tmp_path / "r.yaml"
    path.write_text(
        'ranges:\n  staging.lanes: {low: 1, high: 4}\n  fleet.dispatchers."No such pool": '
        "{low: 1, high: 4}\n",
        encoding="utf-8",
    )
    calls = []
    with pytest.raises(ScenarioError) as info:
        sensitivity(
            load_scenario(scenario_file), load_ranges(path), n=2, before=lambda *a: calls.append(a)
        )
    (problem,) = info.value.problems
    assert str(problem).startswith(f'{path.name}:3: fleet.dispatchers."No such pool"') or (
        ":3: " in str(problem) and "No such pool" in str(problem)
    )
    assert "no operator 'No such pool'" in str(problem)
    assert calls == []  # nothing was estimated or simulated


def test_key_paths_parse_format_and_write_into_the_scenario_data(files):
    path = parse('fleet.dispatchers."Central taxi pool"')
    assert path == ("fleet", "dispatchers", "Central taxi pool")
    assert format_path(path) == 'fleet.dispatchers."Central taxi pool"'
    assert parse("fleet.depot_counts['Jungar hazmat']") == (
        "fleet",
        "depot_counts",
        "Jungar hazmat",
    )
    assert parse("incidents[1].demand.taxi") == ("incidents", 1, "demand", "taxi")
    assert number_kind(path) == "integer"
    assert number_kind(parse("vehicle_classes.taxi.call.lognormal.median")) == "number"
    for bad in ("a..b", "staging.", "[0]", "staging.lanes.x"):
        with pytest.raises(KeyPathError):
            number_kind(parse(bad))
    scenario_file, _ = files
    base = ScenarioData.of(load_scenario(scenario_file))
    variant = base.with_values(
        {
            parse("vehicle_classes.taxi.call.lognormal.median"): 0.8,
            parse('fleet.dispatchers."Central taxi pool"'): 12,  # `fleet` absent: default fleet
        }
    )
    taxi = variant.fleet.classes["taxi"]
    assert taxi.call.value == 0.8 and taxi.call.sigma == 0.3  # the sigma kept
    (pool,) = [o for o in variant.fleet.operators if o.name == "Central taxi pool"]
    assert pool.dispatchers == 12
    assert base.value(parse("staging.lanes")) == 1
    assert base.with_values({}) == load_scenario(scenario_file)


def test_the_default_ranges_are_valid_for_ordos_123():
    ranges = load_ranges()
    assert len(ranges.parameters) >= 40
    names = {p.name for p in ranges.parameters}
    assert {"staging.lanes", "dispatch.over_request", "weather.speed_factor"} <= names
    assert 'fleet.dispatchers."Central taxi pool"' in names
    from sim.builtin import ordos_123
    from sim.sensitivities import check_ranges

    kept, notes = check_ranges(ScenarioData.of(ordos_123()), ranges)
    assert len(kept) == len(ranges.parameters) and notes == []
