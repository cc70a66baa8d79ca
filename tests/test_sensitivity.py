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
from sim.sensitivities import (
    Parameter,
    analyse,
    design,
    load_ranges,
    sensitivity,
    sensitivity_table,
)

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

#: The unread parameter first and the dominant one last, so that file order cannot pass for
#: a ranking.
RANGES = """\
ranges:
  vehicle_classes.hazmat.mobilisation_factor: {low: 0.8, high: 1.25}
  weather.speed_factor: {low: 0.95, high: 1.05}
  staging.lanes: {low: 1, high: 4}
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


def _unread_after_every_effect(ranking: list[dict], keys: tuple[str, str]) -> None:
    """The parameter the model never reads has indices of exactly 0, and nothing that moved
    an output ranks after it (exact zeros tie, in file order)."""
    names = [r["parameter"] for r in ranking]
    at = names.index("vehicle_classes.hazmat.mobilisation_factor")
    outs = ("p_met", "p90_min")
    assert all(ranking[at][o][k] == 0.0 for o in outs for k in keys)
    for after in ranking[at + 1 :]:
        assert all(after[o][k] == 0.0 for o in outs for k in keys), after["parameter"]


def test_the_dominant_parameter_ranks_first_and_an_unread_one_last_with_zero(morris):
    data = morris.to_json()
    assert [i["name"] for i in data["incidents"]] == ["Kangbashi taxis", "Dongsheng taxis"]
    for inc in data["incidents"]:
        ranking = inc["ranking"]
        assert ranking[0]["parameter"] == "staging.lanes"
        assert ranking[0]["p90_min"]["mu_star"] > 30  # minutes: one lane vs four
        names = [r["parameter"] for r in ranking]
        at = names.index("vehicle_classes.hazmat.mobilisation_factor")
        unread = ranking[at]
        for out in ("p_met", "p90_min"):
            assert unread[out]["mu_star"] == 0.0 and unread[out]["sigma"] == 0.0
        # Nothing that moved an output ranks after it (exact zeros tie, in file order).
        for after in ranking[at + 1 :]:
            assert all(
                after[o][k] == 0.0 for o in ("p_met", "p90_min") for k in ("mu_star", "sigma")
            )
    # Where the speed factor moves the p90 (Kangbashi), the unread parameter is last.
    kangbashi = data["incidents"][0]["ranking"]
    assert kangbashi[-1]["parameter"] == "vehicle_classes.hazmat.mobilisation_factor"
    assert kangbashi[-2]["p90_min"]["mu_star"] > 0
    text = sensitivity_table(morris)
    assert "staging.lanes" in text and "μ*" in text


def test_integer_parameters_stay_integers_and_every_run_is_a_valid_variant(morris):
    lanes = [morris.values(r)["staging.lanes"] for r in range(morris.x.shape[0])]
    assert all(type(v) is int and 1 <= v <= 4 for v in lanes)
    assert len(set(lanes)) >= 2
    p = Parameter(("staging", "lanes"), 1, 4, integer=True)
    assert p.bounds("sobol") == (0.5, 4.5)  # each integer equally likely
    assert p.bounds("morris") == (1, 4)
    grid = np.linspace(1, 4, 4)  # the Morris levels
    assert [p.value(x) for x in grid] == [1, 2, 3, 4]
    assert p.value(0.5) == 1 and p.value(4.5) == 4 and p.value(2.49) == 2
    speeds = {morris.values(r)["weather.speed_factor"] for r in range(morris.x.shape[0])}
    assert all(isinstance(v, float) for v in speeds)


@pytest.mark.parametrize(
    ("low", "high", "integer"), [(1, 3, True), (1, 2, True), (4, 16, True), (0.5, 2.0, False)]
)
def test_morris_mu_star_of_an_output_equal_to_the_parameter_is_its_range(low, high, integer):
    # y = the value the scenario receives: every elementary effect is exactly high - low, for
    # an integer whose rounded grid values step unevenly as for a real; an unread one is 0.
    params = [
        Parameter(("staging", "lanes"), low, high, integer=integer),
        Parameter(("weather", "speed_factor"), 0.9, 1.1),
    ]
    x = design(params, "morris", 8, seed=3)
    y = np.array([params[0].value(row[0]) for row in x], dtype=float)
    read, unread = analyse(params, "morris", x, y, seed=4)
    assert read["mu_star"] == pytest.approx(high - low) and read["sigma"] == pytest.approx(0)
    assert unread["mu_star"] == 0.0


def test_sobol_gives_first_and_total_order_indices(files):
    scenario_file, ranges_file = files
    res = sensitivity(load_scenario(scenario_file), load_ranges(ranges_file), method="sobol", n=8)
    assert res.x.shape == (8 * (3 + 2), 3)
    for inc in res.to_json()["incidents"]:
        top = inc["ranking"][0]
        assert top["parameter"] == "staging.lanes"
        assert set(top["p90_min"]) == {"S1", "S1_conf", "ST", "ST_conf"}
        _unread_after_every_effect(inc["ranking"], ("ST", "S1"))
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


def _refused_before_any_run(scenario: Path, ranges: Path, n: int) -> ScenarioError:
    """The error of a sensitivity run refused before anything was estimated or simulated."""
    calls = []
    with pytest.raises(ScenarioError) as info:
        sensitivity(
            load_scenario(scenario), load_ranges(ranges), n=n, before=lambda *a: calls.append(a)
        )
    assert calls == []
    return info.value


def test_a_range_the_scenario_cannot_take_is_refused_before_any_run(files, tmp_path):
    scenario_file, _ = files
    path = tmp_path / "r.yaml"
    path.write_text(
        'ranges:\n  staging.lanes: {low: 1, high: 4}\n  fleet.dispatchers."No such pool": '
        "{low: 1, high: 4}\n",
        encoding="utf-8",
    )
    (problem,) = _refused_before_any_run(scenario_file, path, n=2).problems
    assert str(problem).startswith(f'{path.name}:3: fleet.dispatchers."No such pool"') or (
        ":3: " in str(problem) and "No such pool" in str(problem)
    )
    assert "no operator 'No such pool'" in str(problem)


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

    scenario = ordos_123()
    kept, notes = check_ranges(ScenarioData.of(scenario), ranges)
    assert len(kept) == len(ranges.parameters) and notes == []
    # Every operator's call-out is varied: a platform's settings for each operator on it, the
    # dispatchers of each operator (read when it is on the phone).
    paths = {kp for p in ranges.parameters for kp in p.paths}
    for op in scenario.fleet.operators:
        assert ("fleet", "dispatchers", op.name) in paths, op.name
        if op.callout.mode == "platform":
            for key in ("batch_size", "batch_interval_min"):
                assert ("fleet", "callout", op.name, key) in paths, (op.name, key)


def test_a_design_point_whose_values_conflict_is_refused_naming_the_ranges_and_values(
    tmp_path, ordos
):
    # Each range alone and both corners are valid, but 1 lane with heavy background traffic
    # cannot drain: the error names the ranges file and the point's values, before any run.
    scenario = tmp_path / "cp.yaml"
    scenario.write_text(
        "name: cp\ncheckpoints:\n  sites: [{name: CP1, location: dongsheng}]\n  lanes: 3\n"
        "  service: 1\n  background_per_min: 0.5\nincidents:\n"
        "  - {name: K, location: kangbashi, demand: {taxi: 20}}\nreplications: 4\nseed: 3\n",
        encoding="utf-8",
    )
    ranges = tmp_path / "cpr.yaml"
    ranges.write_text(
        "ranges:\n  checkpoints.lanes: {low: 1, high: 3}\n"
        "  checkpoints.background_per_min: {low: 0.5, high: 2.5}\n",
        encoding="utf-8",
    )
    error = _refused_before_any_run(scenario, ranges, n=4)
    assert str(error).startswith("1 problem in the ranges file:")
    (problem,) = error.problems
    text = str(problem)
    assert text.startswith(f"{ranges}: design point ")
    assert "checkpoints.lanes = 1" in text and "checkpoints.background_per_min = " in text
    assert "background_per_min" in text.split("is not a valid scenario: ")[1]


def test_a_group_gives_every_path_one_value_and_is_named_by_its_label(files, tmp_path):
    scenario_file, _ = files
    ranges = tmp_path / "g.yaml"
    ranges.write_text(
        "ranges:\n  taxi dispatchers:\n    paths:\n"
        '      - fleet.dispatchers."Central taxi pool"\n'
        '      - fleet.dispatchers."Jungar taxi company"\n'
        "    low: 2\n    high: 9\n  staging.lanes: {low: 1, high: 4}\n",
        encoding="utf-8",
    )
    group, _ = load_ranges(ranges).parameters
    assert group.name == "taxi dispatchers" and group.integer and len(group.paths) == 2
    base = ScenarioData.of(load_scenario(scenario_file))
    variant = base.with_values(group.written(7))
    counts = {o.name: o.dispatchers for o in variant.fleet.operators}
    assert counts["Central taxi pool"] == counts["Jungar taxi company"] == 7
    assert counts["Dalad taxi company"] == 2  # not in the group
    res = sensitivity(load_scenario(scenario_file), load_ranges(ranges), n=2, replications=2)
    assert {res.values(r)["taxi dispatchers"] for r in range(len(res.x))} <= set(range(2, 10))
    row = res.to_json()["incidents"][0]["ranking"]
    assert {r["parameter"] for r in row} == {"taxi dispatchers", "staging.lanes"}
    (entry,) = [r for r in row if r["parameter"] == "taxi dispatchers"]
    assert entry["paths"] == [
        'fleet.dispatchers."Central taxi pool"',
        'fleet.dispatchers."Jungar taxi company"',
    ]
    assert entry["scenario_value"] is None  # 8 and 2: the group's paths differ


def test_a_group_mixing_integers_and_numbers_or_naming_a_path_twice_is_refused(tmp_path):
    problems = _problems(
        tmp_path,
        "ranges:\n  mixed:\n    paths: [staging.lanes, dispatch.over_request]\n"
        "    low: 1\n    high: 2\n  twice:\n    paths: [weather.speed_factor]\n"
        "    low: 0.9\n    high: 1.1\n  weather.speed_factor: {low: 0.8, high: 1.2}\n"
        "  empty: {paths: [], low: 1, high: 2}\n",
    )
    joined = "\n".join(problems)
    assert "mixed: a group's key paths must all be integers or all be numbers" in joined
    assert "weather.speed_factor: named twice (also in 'twice')" in joined
    assert "empty.paths: a list of key paths, got []" in joined


def test_a_load_time_factor_has_its_neutral_scenario_value(files):
    scenario_file, _ = files
    base = ScenarioData.of(load_scenario(scenario_file))
    assert base.value(parse("vehicle_classes.taxi.mobilisation_factor")) == 1.0
