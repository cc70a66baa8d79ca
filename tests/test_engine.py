"""The heap engine reproduces the SimPy model exactly, for every feature it claims."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from sim.demand import Basis
from sim.dists import Dist
from sim.engine import simulate_fast, supports
from sim.model import simulate
from sim.plan import CheckpointSpec, draw

from .test_model import make_plan


def rows(result) -> tuple[list, np.ndarray]:
    ordered = sorted(result.vehicles)
    return [r[:4] for r in ordered], np.array([r[4:] for r in ordered], dtype=float)


def _phone(plan):
    """The plan with every operator on the phone: the default fleet's taxi and freight
    platforms (issue 14) run on SimPy only, and these tests are about the heap engine."""
    return dataclasses.replace(plan, operator_callout=())


def assert_same(plan, reps: int = 25) -> None:
    assert supports(plan)
    for r in range(reps):
        d = draw(plan, np.random.SeedSequence(99, spawn_key=(r,)))
        a = simulate(plan, d, log_vehicles=True)
        b = simulate_fast(plan, d, log_vehicles=True)
        ka, ta = rows(a)
        kb, tb = rows(b)
        assert ka == kb
        assert np.array_equal(np.isnan(ta), np.isnan(tb))
        np.testing.assert_allclose(np.nan_to_num(tb), np.nan_to_num(ta), rtol=0, atol=1e-9)
        assert a.counts == b.counts and a.class_counts == b.class_counts
        assert a.critical_class == b.critical_class
        assert a.completion_min == pytest.approx(b.completion_min, abs=1e-9)
        for k, t in a.class_completion_min.items():
            assert b.class_completion_min[k] == pytest.approx(t, abs=1e-9)


CALL = Dist.lognormal(1.0, 0.4)
MOB = Dist.lognormal(12.0, 0.5)
REG = Dist.exponential(0.8)
TRIP = Dist.lognormal(1.0, 0.15)


def continuous(plan, *, call=CALL, mob=MOB, reg=REG, trip=TRIP):
    """The plan with continuous distributions (no exact ties)."""
    classes = tuple(dataclasses.replace(c, call=call, mobilisation=mob) for c in plan.classes)
    return dataclasses.replace(
        plan,
        classes=classes,
        trip_factor=trip,
        staging=dataclasses.replace(plan.staging, service=reg),
        alert=Dist.lognormal(5.0, 0.5),
    )


@pytest.mark.parametrize("dispatchers,lanes", [(1, 1), (3, 2), (8, 5)])
def test_callout_recalls_and_staging(dispatchers, lanes):
    plan = continuous(
        make_plan(
            80,
            requested=30,
            over=33,
            availability=0.8,
            reach=0.9,
            accept=0.9,
            dispatchers=dispatchers,
            staging_lanes=lanes,
        )
    )
    assert_same(plan)


def test_candidates_run_out_before_the_target():
    # 30 candidates, ~45 % accept: the re-calls exhaust the ranking before 25 acceptances.
    plan = continuous(
        make_plan(30, requested=25, over=28, availability=0.6, accept=0.75, dispatchers=3)
    )
    assert_same(plan)


def test_reference_sweep_incident_on_the_road_network():
    # The incident of the benchmark's reference sweep (310 vehicles from the whole region:
    # three classes, many operators and re-calls).
    from sim.builtin import ordos_123
    from sim.planning import prepare, scenario_network
    from sim.scenario import Incident

    demand = {"taxi": 220, "coach": 50, "freight": 40}
    base = ordos_123()
    incident = Incident("reference", "38.33956,107.98782", demand, scope="region")
    scenario = dataclasses.replace(base, incidents=(incident,))
    (plan,) = prepare(scenario_network(scenario), scenario)
    assert sum(c.requested for c in plan.classes) >= 300
    # Every operator on the phone (a platform plan runs on SimPy only: `supports` is False).
    assert supports(plan) is not plan.has_platform
    phone = dataclasses.replace(plan, operator_callout=()) if plan.has_platform else plan
    assert supports(phone)
    assert_same(phone, reps=4)


@pytest.mark.parametrize("basis", [Basis.ALL_ACCEPTED, Basis.ALL_IN_SCOPE])
def test_all_demand(basis):
    plan = continuous(make_plan(40, basis=basis, availability=0.7, dispatchers=4, staging_lanes=3))
    assert_same(plan)


@pytest.mark.parametrize("green", ["none", "priority", "dedicated"])
def test_checkpoints_without_background(green):
    cps = (
        CheckpointSpec("a", 1, lanes=1, service=Dist.exponential(0.9), green=green),
        CheckpointSpec(
            "b", 2, lanes=2, service=Dist.lognormal(1.5, 0.3), green=green, green_lanes=1
        ),
    )
    plan = continuous(
        make_plan(
            50,
            legs=(10.0, 7.5, 3.0),
            checkpoints=cps,
            requested=35,
            over=40,
            availability=0.9,
            dispatchers=5,
            staging_lanes=4,
        )
    )
    assert_same(plan)


def test_default_scenario_incidents_on_the_road_network():
    from sim.builtin import ordos_123
    from sim.netload import load_network
    from sim.planning import prepare

    for plan in prepare(load_network("ordos"), ordos_123()):
        assert_same(_phone(plan), reps=10)


@pytest.mark.parametrize("green", ["none", "priority", "dedicated"])
@pytest.mark.parametrize("load", [0.3, 0.95])
def test_checkpoints_with_background_traffic(green, load):
    """Ordinary traffic shares the lanes (busy: 0.95 of capacity), emergency vehicles in
    bursts; every green-channel mode, one and two lanes, after the warm-up."""
    cps = (
        CheckpointSpec(
            "a",
            1,
            lanes=1,
            service=Dist.exponential(0.9),
            green=green,
            background_per_min=load / 0.7,
            background_service=Dist.exponential(0.7),
        ),
        CheckpointSpec(
            "b",
            2,
            lanes=2,
            service=Dist.lognormal(1.5, 0.3),
            green=green,
            background_per_min=2 * load / 1.2,
            background_service=Dist.lognormal(1.0, 0.5),
        ),
    )
    plan = continuous(
        make_plan(
            40,
            legs=(10.0, 7.5, 3.0),
            checkpoints=cps,
            requested=30,
            over=33,
            availability=0.9,
            dispatchers=6,
            staging_lanes=3,
        )
    )
    assert plan.has_background
    assert_same(plan)


def test_default_checkpoint_and_toll_scenarios_on_the_road_network():
    from sim.planning import prepare
    from sim.scenario import load_scenario_with_network

    root = Path(__file__).resolve().parents[1] / "scenarios"
    for name in ("checkpoints-2022.yaml", "checkpoints-2022-green.yaml", "g65-toll-removal.yaml"):
        scenario, network = load_scenario_with_network(root / name)
        from sim.planning import scenario_network

        for plan in prepare(scenario_network(scenario, network), scenario):
            assert_same(_phone(plan), reps=4)


def test_unsupported_plans_are_refused():
    fixed = make_plan(5)  # fixed distributions: exact ties are SimPy's to order
    assert not supports(fixed)
    with pytest.raises(ValueError, match="SimPy"):
        simulate_fast(fixed, draw(fixed, np.random.SeedSequence(1)))


def _random_dist(rng: np.random.Generator, degenerate: bool = False) -> Dist:
    kind = str(rng.choice(["exponential", "lognormal", "uniform"]))
    v = float(rng.uniform(0.2, 5.0))
    if degenerate:  # constant although not spelled `fixed`
        return {"lognormal": Dist.lognormal(v, 0.0), "uniform": Dist("uniform", v),
                "exponential": Dist.exponential(0.0)}[kind]  # fmt: skip
    if kind == "exponential":
        return Dist.exponential(v)
    if kind == "lognormal":
        return Dist.lognormal(v, float(rng.uniform(0.05, 0.8)))
    return Dist("uniform", v, spread=v * float(rng.uniform(0.1, 1.0)))


def _random_plan(rng: np.random.Generator, degenerate: bool = False):
    """1-3 classes over 1-5 depots (one operator of 1-3 dispatchers each), 0-3 checkpoints on
    random subsets of routes (every green mode, with or without background traffic), depots at
    the staging node, candidates that run out, over-request, `all`, success fraction 0.8."""
    from sim.plan import ClassPlan, IncidentPlan, StagingSpec

    n_cls, n_dep, n_cp = (int(rng.integers(1, 4)), int(rng.integers(1, 6)),
                          int(rng.integers(0, 4)))  # fmt: skip
    dep_cls = np.array([c % n_cls for c in range(n_dep)])
    counts = rng.integers(0, 25, n_dep)
    vdep = np.repeat(np.arange(n_dep), counts)
    dispatchers = tuple(int(x) for x in rng.integers(1, 4, n_dep))
    cps = tuple(
        CheckpointSpec(
            f"c{i}",
            i,
            lanes=int(rng.integers(1, 3)),
            service=_random_dist(rng, degenerate),
            green=str(rng.choice(["none", "priority", "dedicated"])),
            green_lanes=int(rng.integers(1, 3)),
            background_per_min=float(rng.choice([0.0, rng.uniform(0.05, 1.5)])),
            background_service=_random_dist(rng) if rng.random() < 0.5 else None,
        )
        for i in range(n_cp)
    )
    legs, stops = [], []
    for _ in range(n_dep):
        k = int(rng.integers(0, n_cp + 1)) if n_cp else 0
        legs.append(np.zeros(k + 1) if rng.random() < 0.2 else rng.uniform(0, 40, k + 1))
        stops.append(np.asarray(rng.choice(n_cp, k, replace=False) if k else [], np.int64))
    classes = []
    for c in range(n_cls):
        cand = np.flatnonzero(np.isin(vdep, np.flatnonzero(dep_cls == c)))
        rng.shuffle(cand)
        if rng.random() < 0.2:
            req, initial, every = int(cand.size), int(cand.size), True
        else:
            req, every = int(rng.integers(0, cand.size + 1)), False
            initial = min(int(cand.size), math.ceil(req * rng.uniform(1.0, 1.6)))
        classes.append(ClassPlan(
            ("taxi", "coach", "bus")[c], req, every, cand, initial,
            _random_dist(rng, degenerate), _random_dist(rng, degenerate),
            *(float(x) for x in rng.uniform(0.3, 1.0, 3)),
        ))  # fmt: skip
    return IncidentPlan(
        "random",
        0,
        "region",
        120.0,
        float(rng.choice([1.0, 0.8])),
        tuple(classes),
        vdep,
        vdep.copy(),
        dispatchers,
        tuple(legs),
        tuple(stops),
        cps,
        StagingSpec(int(rng.integers(1, 4)), _random_dist(rng, degenerate)),
        _random_dist(rng),
        _random_dist(rng, degenerate),
        warmup_min=float(rng.choice([0.0, 30.0, 60.0])),
    )


def test_random_plans_agree_with_simpy_vehicle_by_vehicle():
    """A randomised cross-check: every supported plan matches SimPy to 1e-9 on every
    per-vehicle time, count and completion."""
    checked = 0
    for s in range(120):
        plan = _random_plan(np.random.default_rng(s))
        if supports(plan):
            assert_same(plan, reps=2)
            checked += 1
    assert checked >= 100


def test_constant_distributions_not_spelled_fixed_are_refused():
    for dist in (Dist.lognormal(2.0, 0.0), Dist("uniform", 2.0), Dist.exponential(0.0)):
        assert dist.is_degenerate
        plan = continuous(make_plan(5), mob=dist)
        assert not supports(plan)
    refused = sum(not supports(_random_plan(np.random.default_rng(s), True)) for s in range(40))
    assert refused >= 35  # nearly every plan draws at least one degenerate distribution


def test_calls_still_open_at_the_horizon_are_counted_and_the_engine_defers_to_simpy():
    plan = dataclasses.replace(
        continuous(make_plan(60, requested=60, dispatchers=1, availability=0.2)),
        horizon_min=30.0,
    )
    d = draw(plan, np.random.SeedSequence(3))
    a = simulate(plan, d)
    assert a.counts["in_call"] > 0  # queued or taken by the dispatcher when time ran out
    assert a.counts["called"] == 60
    assert simulate_fast(plan, d).counts == a.counts


def test_random_plans_by_the_clock_agree_with_simpy_vehicle_by_vehicle():
    """Night by the clock (issue 14): plans reported shortly before 22:00 or 06:00, with
    different day and night reach and mobilisation, so calls and acceptances fall on both
    sides of the boundary; the heap engine matches SimPy to 1e-9."""
    checked = 0
    for s in range(60):
        rng = np.random.default_rng(1000 + s)
        plan = _random_plan(rng)
        classes = tuple(
            dataclasses.replace(
                c,
                reach_day_night=(c.reach, float(rng.uniform(0.2, 1.0))),
                mobilisation_day_night=(c.mobilisation, _random_dist(rng)),
            )
            for c in plan.classes
        )
        hour = float(rng.choice([21.0, 5.0])) + float(rng.uniform(0.5, 1.0))
        plan = dataclasses.replace(plan, classes=classes, clock_hour=hour)
        if supports(plan):
            assert_same(plan, reps=2)
            checked += 1
    assert checked >= 45
