"""The default scenario end to end on the embedded Ordos network: seeds, determinism,
independence of incidents, conservation, tiers, and the JSON contract."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from sim.builtin import OTOG_FRONT_ROAD_POINT, ordos_123
from sim.demand import Basis
from sim.experiment import run
from sim.netload import load_network
from sim.planning import prepare
from sim.results import wilson_interval

REPS = 40


@pytest.fixture(scope="module")
def network():
    return load_network("ordos")


@pytest.fixture(scope="module")
def scenario():
    return ordos_123(replications=REPS)


@pytest.fixture(scope="module")
def base(network, scenario):
    return run(scenario, network=network)


def dump(result) -> str:
    return json.dumps(result.summary, sort_keys=True)


def test_default_scenario_has_one_incident_per_tier(network, scenario):
    plans = prepare(network, scenario)
    assert [p.tier for p in plans] == ["central", "banner", "region"]
    assert [p.deadline_min for p in plans] == [60.0, 120.0, 180.0]
    assert any(c.basis is Basis.ALL_ACCEPTED for p in plans for c in p.classes)
    region = plans[2]
    assert network.zone[region.node] == "Otog Front"
    seat = network.places.locate("aoleqi")
    assert network.road_distance_from(seat)[region.node] >= 40_000


def test_json_contract_keys(base):
    s = base.summary
    assert {"scenario", "seed", "replications", "incidents"} <= s.keys()
    for inc in s["incidents"]:
        assert {
            "name",
            "tier",
            "deadline_min",
            "demand",
            "p_met",
            "p_met_ci95",
            "completion_min",
            "by_class",
            "breakdown_min",
            "bottleneck_class",
            "counts",
        } <= inc.keys()
        assert set(inc["completion_min"]) == {"mean", "p50", "p90", "p95", "max"}
        assert set(inc["breakdown_min"]) == {
            "alert",
            "callout",
            "mobilisation",
            "travel",
            "checkpoint_wait",
            "staging_wait",
        }
        assert {"called", "assembled", "declined", "unreachable", "unavailable"} <= set(
            inc["counts"]
        )
        assert set(inc["by_class"]) == set(inc["demand"])
        lo, hi = inc["p_met_ci95"]
        assert lo <= inc["p_met"] <= hi


def test_same_seed_is_byte_identical_and_another_seed_differs(network, scenario, base):
    again = run(scenario, network=network)
    assert dump(again) == dump(base)
    other = run(scenario, network=network, seed=scenario.seed + 1)
    assert dump(other) != dump(base)


def test_processes_give_the_same_bytes_as_serial(network, scenario, base):
    assert dump(run(scenario, network=network, workers=2)) == dump(base)


def test_incident_results_do_not_depend_on_other_incidents(network, scenario, base):
    by_name = {i["name"]: i for i in base.summary["incidents"]}
    reordered = dataclasses.replace(scenario, incidents=tuple(reversed(scenario.incidents)))
    for inc in run(reordered, network=network).summary["incidents"]:
        assert inc == by_name[inc["name"]]
    alone = dataclasses.replace(scenario, incidents=scenario.incidents[1:2])
    (only,) = run(alone, network=network).summary["incidents"]
    assert only == by_name[only["name"]]


OUTCOME_KEYS = ("assembled", "declined", "unreachable", "unavailable", "en_route", "in_call")


def test_conservation_in_every_replication(network, scenario):
    """called = assembled + declined + unreachable + unavailable + en route (+ in call), and
    each count agrees with the vehicles' own event times, which are recorded separately."""
    logged = run(scenario, network=network, log_vehicles=True)
    for plan, reps in zip(logged.plans, logged.results, strict=True):
        for r in reps:
            c = r.counts
            assert c["called"] == sum(c[x] for x in OUTCOME_KEYS)
            rows = r.vehicles
            assert len(rows) == c["called"]
            # Outcomes agree with the times: registered <=> assembled; accepted without
            # registration <=> en route; no acceptance <=> a failed call.
            registered = [row for row in rows if not math.isnan(row.registered_min)]
            accepted = [row for row in rows if not math.isnan(row.accepted_min)]
            assert len(registered) == c["assembled"]
            assert len(accepted) - len(registered) == c["en_route"]
            assert all(row.outcome == "assembled" for row in registered)
            assert all(math.isnan(row.accepted_min) == (row.outcome in ("declined", "unreachable",
                       "unavailable")) for row in rows)  # fmt: skip
            for cp in plan.classes:
                cc = r.class_counts[cp.vehicle_class]
                assert cc["called"] == sum(cc[x] for x in OUTCOME_KEYS)
                # The vehicles called are exactly the best-ranked prefix of the candidates (by
                # phone; a platform turns away late responders, who are not counted as called).
                called = sorted(
                    row.vehicle for row in rows if row.vehicle_class == cp.vehicle_class
                )
                if plan.has_platform:
                    assert set(called) <= set(cp.candidates.tolist())
                else:
                    assert called == sorted(cp.candidates[: cc["called"]].tolist())
                # At least ceil(d × over_request) accepted, unless candidates ran out.
                if cc["called"] < cp.candidates.size:
                    assert cc["assembled"] + cc["en_route"] >= cp.initial_calls
            # Every vehicle that set the completion time went through all stages.
            if math.isfinite(r.completion_min):
                assert sum(r.breakdown_min.values()) == pytest.approx(r.completion_min)


def test_p_met_is_consistent_with_completion_times(base):
    for inc, plan, reps in zip(base.summary["incidents"], base.plans, base.results, strict=True):
        k = sum(r.completion_min <= plan.deadline_min for r in reps)
        assert inc["p_met"] == pytest.approx(k / len(reps))
        lo, hi = wilson_interval(k, len(reps))
        assert inc["p_met_ci95"] == [pytest.approx(lo, abs=1e-4), pytest.approx(hi, abs=1e-4)]


def test_wilson_interval_matches_the_textbook_formula():
    """scipy's Wilson interval against the closed form (Wilson 1927), to the last bits."""
    z = 1.959963984540054
    for n in (1, 2, 7, 40, 200, 1000):
        for k in range(n + 1):
            p = k / n
            denom = 1 + z * z / n
            centre = (p + z * z / (2 * n)) / denom
            half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
            lo, hi = wilson_interval(k, n)
            assert lo == pytest.approx(max(0.0, centre - half), abs=1e-12)
            assert hi == pytest.approx(min(1.0, centre + half), abs=1e-12)
            assert 0.0 <= lo <= p <= hi <= 1.0
        assert wilson_interval(0, n)[0] == 0.0 and wilson_interval(n, n)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(5, 10, confidence=0.99)[0] < wilson_interval(5, 10)[0]


def test_region_point_constant_is_on_the_network(network):
    node = network.places.locate(OTOG_FRONT_ROAD_POINT)
    assert network.zone[node] == "Otog Front"


def test_one_vehicle_on_a_known_road_path(network):
    """Oracle: alert + call + mobilisation + travel (the class's fastest path) + registration."""
    from sim.dists import Dist
    from sim.fleet import Depot, Fleet, Operator
    from sim.plan import StagingSpec
    from sim.scenario import Incident, Scenario

    params = {
        k: dataclasses.replace(
            p,
            availability=1.0,
            reach_day=1.0,
            accept=1.0,
            call=Dist.fixed(2.0),
            mobilisation_day=Dist.fixed(10.0),
        )
        for k, p in ordos_123().fleet.classes.items()
    }
    fleet = Fleet(
        params,
        (Operator("op", "coach", 1),),
        (Depot("Dongsheng coach", "dongsheng", "coach", 1, "op"),),
    )
    sc = Scenario(
        "oracle",
        (Incident("at Kangbashi", "kangbashi", {"coach": 1}),),
        fleet=fleet,
        alert=Dist.fixed(5.0),
        trip_factor=Dist.fixed(1.0),
        staging=StagingSpec(1, Dist.fixed(1.0)),
        replications=3,
    )
    result = run(sc, network=network)
    kangbashi, dongsheng = (network.places.locate(p) for p in ("kangbashi", "dongsheng"))
    travel = network.tree_to(kangbashi, "coach").time_s[dongsheng] / 60.0
    assert 10 < travel < 40
    for r in result.results[0]:
        assert r.completion_min == pytest.approx(5 + 2 + 10 + travel + 1, abs=1e-9)
        assert r.breakdown_min["travel"] == pytest.approx(travel, abs=1e-9)


def test_engines_give_byte_identical_summaries(network, scenario, base):
    """The default `auto` engine (heap engine where exact) equals pure SimPy."""
    simpy_run = run(scenario, network=network, engine="simpy")
    assert dump(simpy_run) == dump(base)
    for a, b in zip(simpy_run.results, base.results, strict=True):
        assert [r.completion_min for r in a] == pytest.approx(
            [r.completion_min for r in b], abs=1e-9
        )
