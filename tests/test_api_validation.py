"""Bad values through the Python API raise a clear error naming the parameter and value."""

from __future__ import annotations

import dataclasses

import pytest

from sim.dists import Dist
from sim.errors import ValidationError
from sim.fleet import Depot, Fleet, Operator, default_fleet
from sim.plan import CheckpointSpec, StagingSpec
from sim.scenario import Incident, Scenario
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
