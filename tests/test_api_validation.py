"""Bad values through the Python API raise a clear error naming the parameter and value."""

from __future__ import annotations

import dataclasses
import shutil

import pandas as pd
import pytest

from sim.dists import Dist
from sim.errors import ValidationError
from sim.fleet import Depot, Fleet, Operator, default_fleet
from sim.plan import CheckpointSpec, StagingSpec
from sim.scenario import Incident, Scenario
from sim.sweeps import Site
from sim.targets import RuleSet
from sim.vehicles import DEFAULT_CLASSES, SpeedProfile


def test_negative_depot_count_names_depot_and_value():
    with pytest.raises(ValidationError, match=r"depot 'A'.*`count`.*-3"):
        Depot("A", "dongsheng", "taxi", -3, "op")


@pytest.mark.parametrize("field", ["availability", "reach_day", "reach_night", "accept"])
@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_probability_outside_unit_interval(field, value):
    with pytest.raises(ValidationError, match=rf"`{field}`.*probability.*{value}"):
        dataclasses.replace(DEFAULT_CLASSES["taxi"], **{field: value})


# Which classes exist is the fleet's: a name is checked where the fleet is known (the
# scenario for a demand, the fleet for its depots and operators), never against a global list.


def test_unknown_class_in_demand_suggests_close_match():
    incident = Incident("x", "kangbashi", {"coachh": 3})
    with pytest.raises(
        ValidationError,
        match=r"incident 'x'.*`demand`.*unknown vehicle class 'coachh'.*'coach'.*"
        r"classes: taxi, coach, bus, freight, hazmat",
    ):
        Scenario("s", (incident,))


def test_unknown_class_in_depot_and_operator():
    ops = (Operator("op", "taxi", 2),)
    with pytest.raises(ValidationError, match=r"depot 'A'.*unknown vehicle class 'tank'"):
        Fleet(DEFAULT_CLASSES, ops, (Depot("A", "dongsheng", "tank", 3, "op"),))
    with pytest.raises(ValidationError, match=r"operator 'op'.*unknown vehicle class 'tank'"):
        Fleet(DEFAULT_CLASSES, (Operator("op", "tank", 2),), ())
    with pytest.raises(ValidationError, match=r"`vehicle_class`.*vehicle class name.*'a b'"):
        Depot("A", "dongsheng", "a b", 3, "op")


def test_a_fleet_may_run_a_class_of_its_own():
    tank = dataclasses.replace(
        DEFAULT_CLASSES["hazmat"], speed=SpeedProfile(expressway_kmh=60.0), colour=None
    )
    fleet = Fleet(
        {**DEFAULT_CLASSES, "tank": tank},
        (Operator("op", "tank", 1),),
        (Depot("A", "dongsheng", "tank", 3, "op"),),
    )
    assert fleet.count_by_class() == {**dict.fromkeys(DEFAULT_CLASSES, 0), "tank": 3}
    scenario = Scenario("s", (Incident("x", "kangbashi", {"tank": 2}),), fleet=fleet)
    assert scenario.fleet.classes["tank"].speed.expressway_kmh == 60.0


def test_negative_demand_and_bad_all():
    with pytest.raises(ValidationError, match=r"demand.taxi.*-1"):
        Incident("x", "kangbashi", {"taxi": -1})
    with pytest.raises(ValidationError, match=r"demand.taxi.*'every'"):
        Incident("x", "kangbashi", {"taxi": "every"})


def test_operator_needs_dispatchers():
    with pytest.raises(ValidationError, match=r"`dispatchers`.*0"):
        Operator("op", "taxi", 0)


def test_empty_fleet_and_unknown_operator():
    ops = (Operator("op", "taxi", 1),)
    with pytest.raises(ValidationError, match="empty"):
        Fleet(DEFAULT_CLASSES, ops, (Depot("A", "dongsheng", "taxi", 0, "op"),))
    with pytest.raises(ValidationError, match="unknown operator 'nobody'"):
        Fleet(DEFAULT_CLASSES, ops, (Depot("A", "dongsheng", "taxi", 1, "nobody"),))


def test_rules_and_scenario_values():
    with pytest.raises(ValidationError, match=r"`deadlines_min.central`: must be > 0, got 0"):
        RuleSet(deadlines_min={"central": 0, "banner": 120, "region": 180})
    with pytest.raises(ValidationError, match=r"success_fraction.*1.5"):
        RuleSet(success_fraction=1.5)
    inc = (Incident("x", "kangbashi", {"taxi": 1}),)
    with pytest.raises(ValidationError, match=r"`over_request`: must be >= 1, got 0.5"):
        Scenario("s", inc, fleet=default_fleet(), over_request=0.5)
    with pytest.raises(ValidationError, match=r"`replications`.*0"):
        Scenario("s", inc, replications=0)
    with pytest.raises(ValidationError, match=r"`start_hour`.*25"):
        Scenario("s", inc, start_hour=25)


def test_distribution_and_resource_parameters():
    with pytest.raises(ValidationError, match=r"`value` must be a finite number >= 0, got -1"):
        Dist.lognormal(-1, 0.3)
    with pytest.raises(ValidationError, match=r"staging: `lanes`: must be >= 1, got 0"):
        StagingSpec(lanes=0)
    with pytest.raises(
        ValidationError,
        match=r"checkpoint 'c': `green`: got 'sometimes'; allowed values: none, priority, "
        r"dedicated",
    ):
        CheckpointSpec("c", 0, green="sometimes")


# ---------------------------------------------------------------------------------------------
# The analyst API (sim.run / sim.sweep / sim.compare / sim.read_results)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sites", "message"),
    [
        (None, r"`sites` must be .*got None"),
        ([], r"`sites` is an empty list"),
        (["x"], r"`sites\[0\]` must be a Site"),
        ("x", r"--sites 'x': unknown"),
        ([Site("a", 0), Site("a", 1)], r"site names must be unique; 'a' repeats"),
        ([Site("a", -1)], r"`sites\[0\].node` -1 is not a node index"),
        ([Site("a", 10**9)], r"`sites\[0\].node` 1000000000 is not a node index"),
        ([Site("", 0)], r"`sites\[0\].name` must be a non-empty text"),
    ],
)
def test_sweep_sites_are_validated(sites, message):
    import sim

    with pytest.raises(ValidationError, match=message):
        sim.sweep("ordos-123", sites=sites, reps=2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"out": 123}, r"`out` must be a folder path .*int"),
        ({"figures": "no"}, r"`figures` must be True or False, got 'no'"),
        ({"log_vehicles": 1}, r"`log_vehicles` must be True or False"),
        ({"reps": "3"}, r"`replications` must be an integer"),
        ({"seed": -1}, r"`seed` must be an integer >= 0"),
        ({"workers": 0}, r"`workers` must be an integer >= 1"),
    ],
)
def test_run_arguments_are_validated_before_simulating(kwargs, message, tmp_path):
    import sim

    with pytest.raises(ValidationError, match=message):
        sim.run("ordos-123", **({"reps": 2, "out": tmp_path / "out"} | kwargs))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"out": 1.5}, r"`out` must be a folder path"),
        ({"figures": None}, r"`figures` must be True or False"),
        ({"incident": 3}, r"`incident` must be an incident name"),
        ({"workers": "2"}, r"`workers`"),
    ],
)
def test_sweep_arguments_are_validated(kwargs, message):
    import sim

    with pytest.raises(ValidationError, match=message):
        sim.sweep("ordos-123", **({"reps": 2} | kwargs))


def test_compare_arguments_are_validated():
    import sim

    with pytest.raises(ValidationError, match="`replications`"):
        sim.compare("ordos-123", "ordos-123", reps=0)
    with pytest.raises(ValidationError, match="`workers`"):
        sim.compare("ordos-123", "ordos-123", reps=2, workers=None)


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    import sim

    out = tmp_path_factory.mktemp("saved") / "run"
    sim.run("ordos-123", reps=2, out=out, figures=False, log_vehicles=True)
    return out


def _damage(src, dst, name, text):
    shutil.copytree(src, dst)
    if text is None:
        (dst / name).unlink()
    else:
        (dst / name).write_text(text(dst / name) if callable(text) else text, encoding="utf-8")
    return dst


def _truncate(path):
    text = path.read_text(encoding="utf-8")
    return text[: len(text) // 2]


def _drop_column(column):
    def drop(path):
        df = pd.read_csv(path, keep_default_na=False)
        return df.drop(columns=column).to_csv(index=False)

    return drop


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("summary.json", "", r"summary.json': empty"),
        ("summary.json", _truncate, r"summary.json': not valid JSON"),
        ("summary.json", "[1, 2]", r"summary.json': a JSON list, not an object"),
        ("summary.json", '{"scenario": "x"}', r"summary.json': no seed, replications"),
        ("incidents.csv", "", r"incidents.csv': empty"),
        ("incidents.csv", _truncate, r"incidents.csv': truncated"),
        ("incidents.csv", _drop_column("incident"), r"incidents.csv': no column 'incident'"),
        ("incidents.csv", "incident,replication\nx,\n", r"incidents.csv': no column 'tier'"),
        ("incidents.csv", None, r"incidents.csv': missing"),
        ("vehicles.csv", _truncate, r"vehicles.csv': truncated"),
        ("vehicles.csv", "\n", r"vehicles.csv': not a table"),
        ("scenario.resolved.yaml", "a: [1\n", r"scenario.resolved.yaml': not valid YAML"),
        ("scenario.resolved.yaml", "- 1\n", r"scenario.resolved.yaml': not the resolved"),
    ],
)
def test_read_results_names_the_damaged_file(saved_run, tmp_path, name, text, message):
    import sim

    folder = _damage(saved_run, tmp_path / "run", name, text)
    with pytest.raises(ValidationError, match=message):
        sim.read_results(folder)


def test_read_results_rejects_wrong_types_in_a_table(saved_run, tmp_path):
    import sim

    def bad_replication(path):
        df = pd.read_csv(path, keep_default_na=False, dtype=str)
        df.loc[0, "replication"] = "banana"
        return df.to_csv(index=False)

    folder = _damage(saved_run, tmp_path / "run", "incidents.csv", bad_replication)
    with pytest.raises(ValidationError, match=r"incidents.csv': a value of the wrong type"):
        sim.read_results(folder)
    with pytest.raises(ValidationError, match=r"`out_dir` must be a folder path"):
        sim.read_results(None)
