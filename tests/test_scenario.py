"""The YAML scenario language: loading, defaults, extends, validation messages, the CLI.

Malformed files live in ``tests/bad_scenarios/`` (each says in a comment what is wrong); every
one must exit 2 through ``fleetsim run`` and ``fleetsim validate`` with a message naming the
key path, and leave nothing in ``--out``.
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import pytest

from sim.cli import main
from sim.closures import Closure
from sim.dists import Dist
from sim.errors import ScenarioError, ValidationError
from sim.fleet import default_fleet, people_to_vehicles
from sim.scenario import (
    Problem,
    Scenario,
    load_scenario,
    load_scenario_with_network,
    scenario_json_schema,
    validate_file,
)

BAD = Path(__file__).parent / "bad_scenarios"

#: Each malformed file: (key path named in the message, a fragment of the message).
MALFORMED: dict[str, tuple[str, str]] = {
    "unknown_key.yaml": ("weather.sped_factor", "did you mean 'speed_factor'?"),
    "wrong_type.yaml": ("replications", "must be an integer, got 'many'"),
    "negative_count.yaml": ("fleet.depots[0].vehicles.taxi", "must be >= 0, got -3"),
    "unknown_place.yaml": ("incidents[0].location", "did you mean: Kangbashi?"),
    "unknown_class.yaml": ("incidents[0].demand.coachh", "did you mean 'coach'?"),
    "demand_above_fleet.yaml": ("incidents[0].demand.taxi", "5000 is above the 1300 taxi"),
    "deadline_not_positive.yaml": ("incidents[0].deadline_min", "must be > 0, got 0"),
    "yaml_syntax.yaml": ("yaml_syntax.yaml:6:13", "YAML syntax error"),
    "outside_network.yaml": ("incidents[0].location", "outside the network"),
    "unreachable_staging.yaml": ("incidents[0].staging_point", "cannot be reached"),
    "empty_fleet.yaml": ("fleet", "the fleet is empty"),
    "outside_region.yaml": ("incidents[0].location", "zone 'outside'"),
    "bad_distribution.yaml": ("staging.service", "unknown key 'mean' (did you mean 'median'?)"),
    "bad_green_channel.yaml": ("checkpoints.green", "did you mean 'priority'?"),
    "unknown_road.yaml": ("closures[0]", "did you mean: G109, G18, G210?"),
    "duplicate_key.yaml": ("seed", "duplicate key 'seed' (first written on line 2)"),
    "extends_cycle_a.yaml": ("extends", "extends cycle"),
    "bad_start.yaml": ("start", "got '25:00'"),
}


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------------------------
# Malformed files
# --------------------------------------------------------------------------------------------


def test_every_malformed_file_is_listed() -> None:
    assert sorted(MALFORMED) == sorted(
        p.name for p in BAD.glob("*.yaml") if p.name != "extends_cycle_b.yaml"
    )
    assert len(MALFORMED) >= 12


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_file_run_exits_2_names_the_key_and_writes_nothing(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, fragment = MALFORMED[name]
    out = tmp_path / "out"
    code, stdout, err = cli(capsys, "run", BAD / name, "--reps", 2, "--out", out, "--quiet")
    assert code == 2
    assert stdout == ""
    assert f"{path}: " in err or f"{path}:" in err
    assert fragment in err
    assert name in err  # the file is named
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary folder left either


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_file_validate_exits_2(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, err = cli(capsys, "validate", BAD / name)
    assert code == 2
    assert stdout == ""
    assert MALFORMED[name][1] in err


def test_missing_file_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    missing = tmp_path / "no-such-scenario.yaml"
    code, _, err = cli(capsys, "run", missing, "--out", out)
    assert code == 2
    assert "scenario file not found" in err and "no-such-scenario.yaml" in err
    assert not out.exists()
    code, _, err = cli(capsys, "validate", missing)
    assert code == 2 and "not found" in err
    problems = validate_file(missing)
    assert len(problems) == 1 and "file not found" in problems[0].message


def test_unknown_scenario_name_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "run", "ordos-124")
    assert code == 2
    assert "not a file and not a built-in scenario" in err and "ordos-123" in err


def test_yaml_syntax_error_has_line_and_column() -> None:
    (problem,) = validate_file(BAD / "yaml_syntax.yaml")
    assert (problem.line, problem.column) == (6, 13)
    assert "line 5, column 13" in problem.message  # where the unclosed mapping starts


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        netwrok: ordos
        start: 25:00
        weather: {speed_factor: 0}
        checkpoints: {green: priorty}
        incidents:
          - location: kangbashii
            demand: {coachh: 3, taxi: ten, bus: -1}
          - location: "45.0,120.0"
            demand: {taxi: 1}
            deadline_min: 0
        """,
    )
    problems = validate_file(path)
    paths = [p.path for p in problems]
    assert paths == [
        "netwrok",
        "start",
        "weather.speed_factor",
        "checkpoints.green",
        "incidents[0].location",
        "incidents[0].demand.coachh",
        "incidents[0].demand.taxi",
        "incidents[0].demand.bus",
        "incidents[1].location",
        "incidents[1].deadline_min",
    ]
    assert all(p.file == "s.yaml" or p.file.endswith("s.yaml") for p in problems)
    assert [p.line for p in problems] == [1, 2, 3, 4, 6, 7, 7, 7, 8, 10]
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert len(info.value.problems) == len(problems)
    assert isinstance(info.value, ValidationError)
    assert "10 problems" in str(info.value)


def test_meaning_problems_are_reported_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        fleet:
          depot_counts: {"Jungar hazmatt": 3}
          dispatchers: {"Central taxi pol": 3}
        closures:
          - road: G18
            between: [xuejiawan, aoleqi]
          - near: "39.0,111.6"
            radius_km: 1
        incidents:
          - location: kangbashi
            demand: {taxi: 5}
        """,
    )
    messages = {p.path: p.message for p in validate_file(path)}
    assert "did you mean 'Jungar hazmat'" in messages["fleet.depot_counts['Jungar hazmatt']"]
    assert "did you mean 'Central taxi pool'" in messages["fleet.dispatchers['Central taxi pol']"]
    assert "136.0 km from road 'G18'" in messages["closures[0]"]
    assert "no road within 1 km" in messages["closures[1]"]


def test_problem_str_names_file_line_path() -> None:
    p = Problem("a.yaml", "incidents[1].demand.coach", "bad", 7, 3)
    assert str(p) == "a.yaml:7:3: incidents[1].demand.coach: bad"
    assert str(Problem("a.yaml", "", "file not found")) == "a.yaml: file not found"


# --------------------------------------------------------------------------------------------
# Defaults and the language
# --------------------------------------------------------------------------------------------


def test_minimal_scenario_takes_every_default(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        # A minimal scenario: one incident, everything else by default.
        network: ordos
        incidents:
          - location: kangbashi
            demand: {taxi: 100, bus: 20}
        """,
        "minimal.yaml",
    )
    s = load_scenario(path)
    assert s.name == "minimal"
    (inc,) = s.incidents
    assert (inc.name, inc.location, dict(inc.demand)) == (
        "kangbashi",
        "kangbashi",
        {"taxi": 100, "bus": 20},
    )
    defaults = Scenario("x", s.incidents)
    for f in dataclasses.fields(Scenario):
        if f.name not in ("name", "source"):
            assert getattr(s, f.name) == getattr(defaults, f.name), f.name


def test_start_time_forms(tmp_path: Path) -> None:
    base = "incidents: [{location: kangbashi, demand: {taxi: 1}}]\n"
    for text, hour in (("start: 22:30\n", 22.5), ('start: "06:15"\n', 6.25), ("start: 9\n", 9.0)):
        s = load_scenario(write(tmp_path, text + base))
        assert s.start_hour == pytest.approx(hour)
    assert load_scenario(write(tmp_path, "start: 22:30\n" + base)).period == "night"


def test_distributions_weather_dispatch_staging(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            """\
            weather: {speed_factor: 0.6, trip_time_spread: 0.3}
            dispatch:
              alert: {exponential: {mean: 4}}
              over_request: 1.3
            staging: {lanes: 3, service: 2}
            incidents: [{location: kangbashi, demand: {taxi: 1}}]
            """,
        )
    )
    assert s.speed_factor == 0.6
    assert s.trip_factor == Dist.lognormal(1.05, 0.3)
    assert s.alert == Dist.exponential(4.0)
    assert s.over_request == 1.3
    assert (s.staging.lanes, s.staging.service) == (3, Dist.fixed(2.0))


def test_vehicle_class_overrides(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            """\
            vehicle_classes:
              taxi:
                availability: 0.5
                mobilisation_day: {uniform: {low: 5, high: 15}}
                speed: {factor: 0.8}
              hazmat:
                speed: {expressway_kmh: 70}
            incidents: [{location: kangbashi, demand: {taxi: 1}}]
            """,
        )
    )
    taxi, hazmat = s.fleet.classes["taxi"], s.fleet.classes["hazmat"]
    assert taxi.availability == 0.5
    assert taxi.mobilisation_day == Dist("uniform", 10.0, spread=5.0)
    assert (taxi.speed.factor, taxi.speed.expressway_kmh) == (0.8, 120.0)
    assert (hazmat.speed.expressway_kmh, hazmat.speed.other_kmh) == (70.0, 60.0)
    assert s.fleet.classes["coach"] == default_fleet().classes["coach"]


def test_fleet_modifications(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            """\
            fleet:
              scale: 0.5
              totals: {hazmat: 80}
              depot_counts: {"Jungar freight": 7}
              dispatchers: {"Central taxi pool": 12}
              operators:
                - {name: Ordos Logistics, vehicle_class: freight, dispatchers: 3}
              depots:
                - name: Qipanjing park
                  location: qipanjing
                  vehicles: {freight: 40, hazmat: 10}
                  operators: {freight: Ordos Logistics}
            incidents: [{location: kangbashi, demand: {taxi: 1}}]
            """,
        )
    )
    base = default_fleet().count_by_class()
    counts = s.fleet.count_by_class()
    assert counts["taxi"] == round(base["taxi"] * 0.5)
    assert counts["hazmat"] == 80 + 10
    depots = {d.name: d for d in s.fleet.depots}
    assert depots["Jungar freight"].count == 7
    assert depots["Qipanjing park freight"].operator == "Ordos Logistics"
    assert depots["Qipanjing park hazmat"].operator == "Qipanjing park hazmat"
    ops = {o.name: o for o in s.fleet.operators}
    assert ops["Central taxi pool"].dispatchers == 12
    assert ops["Qipanjing park hazmat"].vehicle_class == "hazmat"


def test_fleet_of_own_depots_only(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            """\
            fleet:
              base: none
              depots:
                - {location: dongsheng, vehicles: {taxi: 30, bus: 5}, dispatchers: 4}
            incidents: [{location: kangbashi, demand: {taxi: 10}}]
            """,
        )
    )
    assert s.fleet.total == 35
    assert {o.dispatchers for o in s.fleet.operators} == {4}


def test_people_to_vehicles_rule() -> None:
    fleet = default_fleet()
    # Shares by fleet seats: coach 220 x 45 = 9,900, bus 280 x 30 = 8,400.
    assert people_to_vehicles(2000, ["coach", "bus"], fleet) == {"coach": 25, "bus": 31}
    assert people_to_vehicles(2000, {"coach": 1.0}, fleet) == {"coach": 45}  # ceil(44.4)
    assert people_to_vehicles(90, {"coach": 1, "bus": 1}, fleet) == {"coach": 1, "bus": 2}
    assert people_to_vehicles(240, ["freight"], fleet, unit="tonnes") == {"freight": 12}
    assert people_to_vehicles(0, ["coach"], fleet) == {"coach": 0}
    with pytest.raises(ValidationError, match="carries tonnes, not persons"):
        people_to_vehicles(10, ["freight"], fleet)


def test_move_in_a_file_adds_vehicles_to_demand(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            """\
            incidents:
              - location: Tianjiao
                demand: {taxi: 5, coach: 2}
                move: {people: 2000, tonnes: 100}
            """,
        )
    )
    assert dict(s.incidents[0].demand) == {"taxi": 5, "coach": 27, "bus": 31, "freight": 5}


def test_move_of_wrong_unit_is_a_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "incidents: [{location: kangbashi, move: {people: 100, people_by: [freight]}}]\n",
    )
    (problem,) = validate_file(path)
    assert problem.path == "incidents[0].move.people_by"
    assert "freight" in problem.message and "tonnes, not persons" in problem.message


def test_rules_merge_over_defaults(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            """\
            rules:
              deadlines_min: {banner: 90}
              scope: {central: central}
              success_fraction: 0.9
            incidents: [{location: kangbashi, demand: {taxi: 1}, tier: region, scope: banner}]
            """,
        )
    )
    assert s.rules.deadlines_min == {"central": 60.0, "banner": 90.0, "region": 180.0}
    assert s.rules.scope["central"] == "central" and s.rules.scope["banner"] == "region"
    assert s.rules.success_fraction == 0.9
    assert (s.incidents[0].tier, s.incidents[0].scope) == ("region", "banner")


def test_checkpoint_placement_is_deterministic_and_spread(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        checkpoints:
          count: 40
          background_per_min: 0.2
          sites:
            - {name: Bridge, location: dafanpu, lanes: 2, green: dedicated}
        incidents: [{location: kangbashi, demand: {taxi: 1}}]
        """,
    )
    s, net = load_scenario_with_network(path)
    assert load_scenario(path).checkpoints == s.checkpoints
    spread = [c for c in s.checkpoints if c.name.startswith("checkpoint ")]
    assert len(spread) == 40 and len({c.node_id for c in spread}) == 40
    for c in spread:
        i = net.index_of(c.node_id)
        data = net.graph.nodes[c.node_id]
        assert str(net.zone[i]) != "outside" and not net.central[i]
        assert data.get("kind") == "road"
        assert (c.lanes, c.background_per_min, c.green, c.kind) == (1, 0.2, "none", "checkpoint")
    assert len({str(net.zone[net.index_of(c.node_id)]) for c in spread}) >= 7  # every banner
    bridge = s.checkpoints[-1]
    assert (bridge.name, bridge.lanes, bridge.green, bridge.background_per_min) == (
        "Bridge",
        2,
        "dedicated",
        0.2,
    )


def test_toll_plazas_sit_at_the_network_toll_nodes(tmp_path: Path) -> None:
    s, net = load_scenario_with_network(
        write(
            tmp_path,
            """\
            tolls: true
            incidents: [{location: kangbashi, demand: {taxi: 1}}]
            """,
        )
    )
    tolls = [c for c in s.checkpoints if c.kind == "toll"]
    assert len(tolls) == 3
    assert {net.graph.nodes[c.node_id]["toll"] for c in tolls} == {
        "guannianfang",
        "erzihao",
        "dongsheng_west",
    }
    assert any("关碾房" in c.name for c in tolls)
    assert (
        load_scenario(
            write(tmp_path, "tolls: false\nincidents: [{location: kangbashi, demand: {taxi: 1}}]\n")
        ).checkpoints
        == ()
    )


def test_closures_in_a_file_change_the_run(tmp_path: Path) -> None:
    from sim.planning import prepare, scenario_network

    text = """\
        closures:
          - {road: G18, between: [xuejiawan, dafanpu], name: spill}
        incidents: [{location: xuejiawan, demand: {taxi: 1}, scope: region}]
        """
    s, net = load_scenario_with_network(write(tmp_path, text))
    assert s.closures == (Closure(road="G18", between=("xuejiawan", "dafanpu"), name="spill"),)
    open_plan = prepare(net, dataclasses.replace(s, closures=()))[0]
    closed_plan = prepare(scenario_network(s, net), s)[0]
    dongsheng = next(i for i, d in enumerate(s.fleet.depots) if d.name == "Dongsheng taxi")
    assert closed_plan.depot_legs_min[dongsheng].sum() > open_plan.depot_legs_min[dongsheng].sum()


def test_staging_point_differs_from_location(tmp_path: Path) -> None:
    from sim.planning import prepare

    s, net = load_scenario_with_network(
        write(
            tmp_path,
            """\
            incidents:
              - location: "39.8638,111.1379"
                staging_point: xuejiawan
                demand: {freight: 2}
            """,
        )
    )
    (plan,) = prepare(net, s)
    assert plan.node == net.places.locate("xuejiawan")
    assert plan.tier == "banner"


# --------------------------------------------------------------------------------------------
# extends and relative paths
# --------------------------------------------------------------------------------------------


def test_extends_deep_merges_mappings_and_replaces_lists(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
        name: base
        description: the base
        weather: {speed_factor: 0.8, trip_time_spread: 0.2}
        rules: {deadlines_min: {central: 50}}
        incidents:
          - {location: kangbashi, demand: {taxi: 1}}
          - {location: dongsheng, demand: {taxi: 2}}
        seed: 7
        """,
        "base.yaml",
    )
    sub = tmp_path / "variants"
    sub.mkdir()
    write(sub, "extends: ../base.yaml\nweather: {speed_factor: 0.5}\n", "middle.yaml")
    child = write(
        sub,
        """\
        extends: middle.yaml
        incidents:
          - {location: xuejiawan, demand: {coach: 3}}
        """,
        "child.yaml",
    )
    s = load_scenario(child)
    assert s.name == "child" and s.description == ""  # not inherited
    assert s.speed_factor == 0.5  # middle over base
    assert s.trip_factor == Dist.lognormal(1.05, 0.2)  # from base, merged
    assert s.rules.deadlines_min["central"] == 50.0
    assert [i.location for i in s.incidents] == ["xuejiawan"]  # lists replaced
    assert s.seed == 7


def test_problem_in_a_base_file_names_the_base_file(tmp_path: Path) -> None:
    write(tmp_path, "seed: -1\nincidents: [{location: kangbashi, demand: {taxi: 1}}]\n", "b.yaml")
    child = write(tmp_path, "extends: b.yaml\nreplications: 3\n", "c.yaml")
    (problem,) = validate_file(child)
    assert problem.path == "seed" and problem.file.endswith("b.yaml") and problem.line == 1


def test_extends_cycle_and_missing_base(tmp_path: Path) -> None:
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    (problem,) = validate_file(tmp_path / "a.yaml")
    assert problem.path == "extends" and "extends cycle" in problem.message
    assert "a.yaml -> " in problem.message
    write(tmp_path, "extends: self.yaml\n", "self.yaml")
    assert "extends cycle" in validate_file(tmp_path / "self.yaml")[0].message
    (missing,) = validate_file(write(tmp_path, "extends: nowhere.yaml\n", "m.yaml"))
    assert missing.path == "extends" and "file not found" in missing.message


def test_relative_network_path_resolves_against_the_file_that_names_it(tmp_path: Path) -> None:
    base_dir = tmp_path / "base"
    base_dir.mkdir()
    write(
        base_dir,
        """\
        network: maps/roads.osm
        incidents: [{location: kangbashi, demand: {taxi: 1}}]
        """,
        "base.yaml",
    )
    child = write(tmp_path, "extends: base/base.yaml\n", "child.yaml")
    (problem,) = validate_file(child)
    assert problem.path == "network"
    assert str(base_dir / "maps" / "roads.osm") in problem.message


def test_online_network_needs_explicit_opt_in(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "network: 'place:Ordos, China'\nincidents: [{location: kangbashi, demand: {taxi: 1}}]\n",
    )
    (problem,) = validate_file(path)
    assert problem.path == "network" and "allow_online: true" in problem.message


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: !!python/object/apply:os.system ['echo hacked']\n"
        "incidents: [{location: kangbashi, demand: {taxi: 1}}]\n",
    )
    (problem,) = validate_file(path)
    assert "no tags such as !!python" in problem.message and problem.line == 1


# --------------------------------------------------------------------------------------------
# JSON Schema and the CLI
# --------------------------------------------------------------------------------------------


TOP_LEVEL = (
    "extends",
    "name",
    "network",
    "vehicle_classes",
    "fleet",
    "start",
    "weather",
    "dispatch",
    "closures",
    "checkpoints",
    "tolls",
    "staging",
    "rules",
    "incidents",
    "replications",
    "seed",
)


def test_json_schema_is_json_and_names_the_top_level_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    schema = json.loads(json.dumps(scenario_json_schema()))
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert set(TOP_LEVEL) <= set(schema["properties"])
    assert "required" not in schema  # incidents, or waves that generate them
    assert schema["anyOf"] == [{"required": ["incidents"]}, {"required": ["waves"]}]
    code, out, _ = cli(capsys, "schema")
    assert code == 0 and json.loads(out) == schema
    text = json.dumps(schema)
    for word in ("lognormal", "exponential", "people_by", "dedicated", "guannianfang"):
        assert word in text


def test_cli_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "validate", "scenarios/ordos-123.yaml")
    assert code == 0 and err == ""
    assert out.strip().endswith("network 'ordos'") and "OK" in out and "3 incidents" in out


def test_cli_run_accepts_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(
        tmp_path,
        "name: cli-file\nincidents: [{location: kangbashi, demand: {taxi: 20}}]\n",
    )
    code, out, _ = cli(capsys, "run", path, "--reps", 3, "--seed", 5, "--json", "--quiet")
    assert code == 0
    summary = json.loads(out)
    assert (summary["scenario"], summary["replications"], summary["seed"]) == ("cli-file", 3, 5)


def test_schema_and_whole_scenario_problems_are_reported_together(tmp_path):
    """A bad location in one incident does not hide a demand problem in another."""
    from sim.scenario import validate_file

    path = tmp_path / "two.yaml"
    path.write_text(
        "incidents:\n"
        "  - {name: far away, location: '10.0,10.0', demand: {taxi: 5}}\n"
        "  - {name: ok, location: xuejiawan, demand: {coach: 2}}\n"
        "  - {name: too many, location: kangbashi, demand: {taxi: 99999}}\n",
        encoding="utf-8",
    )
    problems = validate_file(path)
    paths = [p.path for p in problems]
    assert paths == ["incidents[0].location", "incidents[2].demand.taxi"]
    assert problems[1].line == 4 and "99999" in problems[1].message


# ---------------------------------------------------------------------------------------------
# The file language as the one resolved form (issue 10; issue 11 item 4)
# ---------------------------------------------------------------------------------------------


def _dump(data: dict, path: Path) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_a_python_built_scenario_round_trips_through_the_file_language(tmp_path: Path) -> None:
    from sim.fleet import Depot, Fleet, Operator
    from sim.plan import StagingSpec
    from sim.resolved import scenario_to_file
    from sim.scenario import CheckpointSite, Incident
    from sim.targets import RuleSet

    base = default_fleet().with_totals(coach=100)
    park = Operator("Ordos Logistics", "freight", 3)
    classes = {
        **base.classes,
        "taxi": dataclasses.replace(
            base.classes["taxi"],
            # As read from {uniform: {low: 0.7, high: 1.4}}: value ± spread is a rounding off.
            call=Dist("uniform", (0.7 + 1.4) / 2, spread=(1.4 - 0.7) / 2),
            mobilisation_night=Dist.exponential(12.5),
            accept=0.8,
        ),
    }
    fleet = Fleet(
        classes,
        (*base.operators, park),
        (*base.depots, Depot("Qipanjing park freight", "39.5,107.2", "freight", 7, park.name)),
    )
    scenario = Scenario(
        name="built in Python",
        incidents=(
            Incident("A", "kangbashi", {"taxi": 30, "coach": 5}),
            Incident(  # the explicit spelling: a plain `all` is written back as `all_accepted`
                "B",
                "xuejiawan",
                {"hazmat": "all_accepted"},
                tier="region",
                deadline_min=150,
                scope="banner",
            ),
            Incident("C", "dongsheng", {"bus": 3}, staging_point="39.83,110.0"),
        ),
        fleet=fleet,
        rules=RuleSet(name="strict", banner_radius_km=10.0, success_fraction=0.9),
        start_hour=22.5,
        alert=Dist.fixed(3.0),
        over_request=1.25,
        trip_factor=Dist.lognormal(1.1, 0.2),
        speed_factor=0.8,
        checkpoints=(
            CheckpointSite("pinned", "kangbashi", lanes=2, background_per_min=0.5, node_id=66),
            CheckpointSite("plaza", "dafanpu", kind="toll", green="priority"),
        ),
        staging=StagingSpec(4, Dist.lognormal(1.5, 0.2)),
        warmup_min=30.0,
        replications=17,
        seed=5,
        closures=(Closure(road="G18", between=("xuejiawan", "dafanpu"), name="spill"),),
        max_snap_km=5.0,  # the Qipanjing park lies 12.5 km off the roads: an access leg
        access_legs=True,
        description="every field away from its default",
    )
    data = scenario_to_file(scenario)
    assert data["locations"] == {"max_snap_km": 5.0, "access_legs": True}
    path = _dump(data, tmp_path / "python.yaml")
    assert validate_file(path) == []
    again = load_scenario(path)
    assert again == scenario
    assert again.description == scenario.description
    assert again.fleet.classes["taxi"].call == scenario.fleet.classes["taxi"].call  # exactly
    assert data["vehicle_classes"]["taxi"]["call"] == {"uniform": {"low": 0.7, "high": 1.4}}
    assert [c.node_id for c in again.checkpoints] == [66, None]
    assert scenario_to_file(again) == data


def test_scenario_to_file_names_what_a_file_cannot_say() -> None:
    from sim.fleet import Depot, Fleet, Operator
    from sim.resolved import scenario_to_file
    from sim.scenario import Incident

    op = Operator("op", "coach", 1)
    odd = Fleet(
        default_fleet().classes, (op,), (Depot("Main garage", "dongsheng", "coach", 3, "op"),)
    )
    scenario = Scenario("odd", (Incident("A", "kangbashi", {"coach": 1}),), fleet=odd)
    with pytest.raises(ValidationError, match=r"depot 'Main garage'.*'<label> <class>'"):
        scenario_to_file(scenario)
    fixed_trip = dataclasses.replace(scenario, fleet=default_fleet(), trip_factor=Dist.fixed(1))
    with pytest.raises(ValidationError, match=r"lognormal trip-time factor.*got fixed"):
        scenario_to_file(fixed_trip)
    nothing = dataclasses.replace(
        fixed_trip,
        trip_factor=Dist.lognormal(1, 0),
        incidents=(Incident("A", "kangbashi", {"coach": 0}),),
    )
    with pytest.raises(ValidationError, match=r"incidents\[0\].*requests nothing"):
        scenario_to_file(nothing)


def test_a_site_may_be_pinned_to_a_graph_node(tmp_path: Path) -> None:
    text = """\
        checkpoints:
          sites:
            - {name: pinned, location: kangbashi, node: %d, kind: toll}
        incidents: [{location: kangbashi, demand: {taxi: 1}}]
        """
    s, net = load_scenario_with_network(write(tmp_path, text % 66))
    (site,) = s.checkpoints
    assert (site.node_id, site.kind) == (66, "toll")
    assert net.places.locate("kangbashi") != net.index_of(66)  # the node wins over the location
    (problem,) = validate_file(write(tmp_path, text % 987654321))
    assert problem.path == "checkpoints.sites[0].node"
    assert "node id 987654321 is not in the network" in problem.message


def test_a_relative_network_path_is_made_absolute_whatever_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib import resources

    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "roads.osm").write_bytes(
        resources.files("sim").joinpath("data", "ordos.osm").read_bytes()
    )
    write(
        tmp_path, "network: maps/roads.osm\nincidents: [{location: kangbashi, demand: {taxi: 1}}]\n"
    )
    monkeypatch.chdir(tmp_path)
    assert load_scenario("s.yaml").network == str(maps / "roads.osm")
    # So a results folder of it reruns from anywhere, to the same summary (network included).
    assert main(["run", "s.yaml", "--reps", "2", "--out", "first", "--no-figures", "-q"]) == 0
    monkeypatch.chdir(tmp_path / "first")
    assert main(["run", "scenario.resolved.yaml", "--out", "../again", "--no-figures", "-q"]) == 0
    summary = (tmp_path / "first" / "summary.json").read_bytes()
    assert (tmp_path / "again" / "summary.json").read_bytes() == summary


def test_the_demand_check_is_one_message_for_validation_and_planning(tmp_path: Path) -> None:
    """The scenario loader and the planner (a sweep site's note) say the same thing."""
    from sim.planning import prepare_incident
    from sim.scenario import Incident

    (problem,) = validate_file(BAD / "demand_above_fleet.yaml")
    assert problem.path == "incidents[0].demand.taxi"
    ok, net = load_scenario_with_network(
        write(tmp_path, "incidents: [{location: kangbashi, demand: {taxi: 1}}]\n")
    )
    incident = Incident("kangbashi", "kangbashi", {"taxi": 5000})
    with pytest.raises(ValidationError) as planned:
        prepare_incident(net, dataclasses.replace(ok, incidents=(incident,)), incident)
    assert str(planned.value) == f"incident 'kangbashi': {problem.message}"
    assert problem.message == (
        "taxi demand 5000 is above the 1300 taxi vehicles in scope 'region': lower the demand, "
        "widen the scope or add vehicles"
    )
