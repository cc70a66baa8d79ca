"""The batch engine (sim/batch.py) reproduces the SimPy model vehicle by vehicle, and the heap
engine bit for bit, on randomised plans and on the shipped scenario."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from sim.batch import seed_words, simulate_batch, supports
from sim.dists import Dist, from_uniform_by
from sim.engine import has_ties as heap_ties
from sim.engine import simulate_fast
from sim.errors import ValidationError
from sim.experiment import BATCH_MIN_WORK, run_plans, run_replications
from sim.model import simulate
from sim.plan import (
    CalloutSpec,
    CheckpointSpec,
    ShockSpec,
    draw,
    name_key,
    replication_seed,
)

from .test_engine import _random_dist, _random_plan, continuous, rows
from .test_model import make_plan

SEED = 20220630


def _no_checkpoints(plan):
    """The plan with its checkpoints removed (each route keeps its first leg only)."""
    return dataclasses.replace(
        plan,
        checkpoints=(),
        depot_checkpoints=tuple(np.zeros(0, np.int64) for _ in plan.depot_checkpoints),
        depot_legs_min=tuple(x[:1] for x in plan.depot_legs_min),
    )


def _same_result(a, b, tol: float) -> None:
    """Two replication results agree: counts exactly (and in key order), times to ``tol``."""
    assert list(a.counts.items()) == list(b.counts.items())
    assert [list(c.items()) for c in a.class_counts.values()] == [
        list(c.items()) for c in b.class_counts.values()
    ]
    assert a.class_arrived == b.class_arrived
    assert a.critical_class == b.critical_class
    assert list(a.class_completion_min) == list(b.class_completion_min)
    for k, t in a.class_completion_min.items():
        u = b.class_completion_min[k]
        assert (math.isinf(t) and t == u) or abs(t - u) <= tol
    ba = np.array(list(a.breakdown_min.values()))
    bb = np.array(list(b.breakdown_min.values()))
    assert np.array_equal(np.isnan(ba), np.isnan(bb))
    np.testing.assert_allclose(np.nan_to_num(bb), np.nan_to_num(ba), rtol=0, atol=tol)
    assert a.registered_min.size == b.registered_min.size
    np.testing.assert_allclose(b.registered_min, a.registered_min, rtol=0, atol=tol)


def assert_batch_same(plan, reps: range, seed: int = SEED) -> None:
    """Per vehicle (1e-9) and per replication, the batch engine equals SimPy on the draws of
    :func:`sim.plan.replication_seed`; with and without the vehicle log."""
    assert supports(plan)
    logged = simulate_batch(plan, seed, reps, log_vehicles=True)
    plain = simulate_batch(plan, seed, reps)
    for r, b_log, b in zip(reps, logged, plain, strict=True):
        a = simulate(plan, draw(plan, replication_seed(seed, plan.stream, r)), log_vehicles=True)
        ka, ta = rows(a)
        kb, tb = rows(b_log)
        assert ka == kb
        assert np.array_equal(np.isnan(ta), np.isnan(tb))
        np.testing.assert_allclose(np.nan_to_num(tb), np.nan_to_num(ta), rtol=0, atol=1e-9)
        _same_result(a, b_log, 1e-9)
        _same_result(a, b, 1e-9)
        assert b.vehicles is None


def test_from_uniform_by_gives_each_draw_its_own_distributions_value():
    """Bit for bit each draw's own ``Dist.from_uniform``: lognormals only (one ``ndtri`` for
    all, each scaled by its own median and sigma), kinds mixed, and one distribution."""
    rng = np.random.default_rng(7)
    u = rng.random(4000)
    lognormals = [Dist.lognormal(1.0, 0.8), Dist.lognormal(3.0, 0.8), Dist.lognormal(0.5, 0.3)]
    mixed = [*lognormals, Dist.exponential(2.0), Dist("uniform", 4.0, spread=1.0), Dist.fixed(1.5)]
    for dists in (lognormals, mixed, [lognormals[1]] * 3):
        which = rng.integers(0, len(dists), u.size)
        got = from_uniform_by(dists, which, u)
        one_by_one = zip(which.tolist(), u.tolist(), strict=True)
        want = np.array([dists[w].from_uniform(np.array([x]))[0] for w, x in one_by_one])
        assert np.array_equal(got, want)
        # ... and not merely the first distribution's values (unless all are the same).
        assert len(set(dists)) == 1 or not np.array_equal(got, dists[0].from_uniform(u))


def test_seed_words_are_numpys_seed_sequence():
    reps = [0, 1, 2, 77, 1000, 2**31, 2**32 - 1]
    for seed in (0, 1, SEED, 2**32 + 5, 2**70 + 3):
        for name in ("a", "Kangbashi (central)"):
            got = seed_words(seed, name_key(name), reps, 10)
            want = np.array(
                [replication_seed(seed, name, r).generate_state(10, np.uint64) for r in reps]
            )
            assert np.array_equal(got, want)


def test_random_plans_agree_with_simpy_vehicle_by_vehicle():
    """200 randomised plans without checkpoints (1-3 classes, 1-5 depots and operators,
    candidates that run out, over-request, `all`, success fraction 0.8, every distribution
    kind), a fifth of them with a common speed shock: every per-vehicle time to 1e-9."""
    checked = 0
    for s in range(230):
        rng = np.random.default_rng(5000 + s)
        plan = _no_checkpoints(_random_plan(rng))
        if rng.random() < 0.2:
            plan = dataclasses.replace(plan, shocks=ShockSpec(speed_factor=_random_dist(rng)))
        if supports(plan):
            assert_batch_same(plan, range(s % 7, s % 7 + 2))
            checked += 1
    assert checked >= 200


def test_random_plans_by_the_clock_agree_with_simpy_vehicle_by_vehicle():
    """Night by the clock: reported shortly before 22:00 or 06:00 (or past midnight), with
    different day and night reach and mobilisation, so calls and acceptances fall on both
    sides of the boundary."""
    checked = 0
    for s in range(60):
        rng = np.random.default_rng(9000 + s)
        plan = _by_the_clock(rng, _no_checkpoints(_random_plan(rng)), 0.5)
        if supports(plan):
            assert_batch_same(plan, range(2))
            checked += 1
    assert checked >= 50


def _by_the_clock(rng: np.random.Generator, plan, late: float):
    """The plan with random night reach and mobilisation per class and an alarm between
    ``late`` and 1 hour after 21:00, 05:00 or 23:00 (calls on both sides of a boundary)."""
    classes = tuple(
        dataclasses.replace(
            c,
            reach_day_night=(c.reach, float(rng.uniform(0.2, 1.0))),
            mobilisation_day_night=(c.mobilisation, _random_dist(rng)),
        )
        for c in plan.classes
    )
    hour = float(rng.choice([21.0, 5.0, 23.0])) + float(rng.uniform(late, 1.0))
    return dataclasses.replace(plan, classes=classes, clock_hour=hour)


def _random_platform(rng: np.random.Generator) -> CalloutSpec:
    return CalloutSpec(
        "platform",
        int(rng.integers(1, 12)),
        float(rng.choice([0.0, rng.uniform(0.1, 6.0)])),
        _random_dist(rng),
        _random_dist(rng),
    )


def _with_platforms(
    rng: np.random.Generator, plan, mixed: bool = False, per_operator: bool = False
):
    """The plan with the operators of about two classes in three on one platform each class
    (random batch size, interval, possibly 0, response and confirmation); ``per_operator``:
    each operator of such a class on a platform of its own settings; ``mixed``: one class's
    first operator back on the phone."""
    callout = [CalloutSpec()] * len(plan.operator_dispatchers)
    for cp in plan.classes:
        if rng.random() < 0.35:
            continue
        spec = _random_platform(rng)
        for o in np.unique(plan.vehicle_operator[cp.candidates]).tolist():
            callout[o] = _random_platform(rng) if per_operator else spec
    if mixed:
        for cp in plan.classes:
            ops = np.unique(plan.vehicle_operator[cp.candidates]).tolist()
            if len(ops) > 1:
                callout[ops[0]] = CalloutSpec()
                break
    return dataclasses.replace(plan, operator_callout=tuple(callout))


def test_random_platform_plans_agree_with_simpy_vehicle_by_vehicle():
    """220 randomised plans (as above) whose classes are pushed by platforms (several
    operators of one class on one platform setting, batches of 1-11, intervals of 0 to 6 min),
    a third with a platform outage, a third by the clock around 22:00 or 06:00 with different
    day and night reach and mobilisation: every per-vehicle time to 1e-9."""
    checked, platforms = _check_platform_plans(range(240), per_operator=False)
    assert checked >= 200
    assert platforms >= 150


def test_platforms_of_different_settings_in_one_class_agree_with_simpy():
    """120 randomised plans as above whose operators of one class each have a platform of
    their own settings (batch size, interval, response, confirmation): the batches leave in
    time order across the platforms, and a batch past the drawn prefix runs again with every
    candidate; every per-vehicle time to 1e-9."""
    checked, platforms = _check_platform_plans(range(240, 360), per_operator=True)
    assert checked >= 100
    assert platforms >= 75


def _check_platform_plans(seeds: range, per_operator: bool) -> tuple[int, int]:
    checked = platforms = 0
    for s in seeds:
        rng = np.random.default_rng(13000 + s)
        plan = _with_platforms(rng, _no_checkpoints(_random_plan(rng)), per_operator=per_operator)
        pick = s % 3
        if pick == 1:
            plan = dataclasses.replace(
                plan,
                shocks=ShockSpec(
                    outage_probability=float(rng.uniform(0.3, 1.0)),
                    outage_min=Dist.fixed(float(rng.uniform(1, 40)))
                    if rng.random() < 0.5
                    else _random_dist(rng),
                    speed_factor=_random_dist(rng) if rng.random() < 0.3 else None,
                ),
            )
        elif pick == 2:
            plan = _by_the_clock(rng, plan, 0.7)
        if supports(plan):
            assert_batch_same(plan, range(s % 5, s % 5 + 3))
            checked += 1
            platforms += plan.has_platform
    return checked, platforms


def test_mixed_phone_and_platform_classes_run_on_simpy():
    """A class whose candidates are partly on the phone and partly on a platform is not the
    batch engine's (nor the heap engine's): ``auto`` runs it on SimPy, ``batch`` refuses it."""
    refused = 0
    for s in range(40):
        rng = np.random.default_rng(17000 + s)
        plan = _with_platforms(rng, _no_checkpoints(_random_plan(rng)), mixed=True)
        mixed = any(
            len({plan.callout(o).mode for o in plan.vehicle_operator[cp.candidates].tolist()}) > 1
            for cp in plan.classes
        )
        assert supports(plan) is (not mixed and not heap_ties(plan))
        if mixed:
            refused += 1
            with pytest.raises(ValidationError, match="batch engine does not support"):
                run_replications(plan, 1, range(2), engine="batch")
            auto = run_replications(plan, 1, range(BATCH_MIN_WORK))
            d = draw(plan, replication_seed(1, plan.stream, BATCH_MIN_WORK - 1))
            assert auto[-1].counts == simulate(plan, d).counts
    assert refused >= 10


def test_platform_prefix_is_widened_when_responses_are_slow():
    """Responses far slower than the batch interval: the platforms push far past the
    target-th sure acceptance, the replications run again on every candidate, and still equal
    SimPy."""
    plan = continuous(make_plan(120, requested=10, over=10, availability=0.9, dispatchers=2))
    spec = CalloutSpec("platform", 2, 0.5, Dist.lognormal(30.0, 0.5), Dist.lognormal(1.0, 0.3))
    plan = dataclasses.replace(plan, operator_callout=(spec,) * len(plan.operator_dispatchers))
    assert supports(plan)
    assert_batch_same(plan, range(4))
    (r,) = simulate_batch(plan, SEED, [0], log_vehicles=True)
    assert max(row[0] for row in r.vehicles) > 40  # pushed far past the 16th sure acceptance


def test_shipped_scenario_platforms_agree_with_simpy():
    """ordos-123 as shipped (taxis and freight on their platforms): the batch engine equals
    SimPy per vehicle."""
    from sim.builtin import ordos_123
    from sim.planning import prepare, scenario_network

    scenario = ordos_123()
    plans = prepare(scenario_network(scenario), scenario)
    assert any(p.has_platform for p in plans)
    for plan in plans:
        assert supports(plan)
        assert_batch_same(plan, range(3), scenario.seed)


def test_shipped_scenario_bit_for_bit_with_the_heap_engine():
    """Every incident of ordos-123 (its phone operators): the batch engine's results are the
    heap engine's, float for float."""
    from sim.builtin import ordos_123
    from sim.planning import prepare, scenario_network

    scenario = ordos_123()
    plans = prepare(scenario_network(scenario), scenario)
    for plan in plans:
        plan = dataclasses.replace(plan, operator_callout=()) if plan.has_platform else plan
        assert supports(plan)
        reps = range(0, 24)
        heap = run_replications(plan, scenario.seed, reps, engine="fast")
        for a, b in zip(heap, simulate_batch(plan, scenario.seed, reps), strict=True):
            _same_result(a, b, 0.0)
            assert a.completion_min == b.completion_min


def test_replications_past_the_horizon_run_on_simpy():
    plan = dataclasses.replace(
        continuous(make_plan(60, requested=60, dispatchers=1, availability=0.2)),
        horizon_min=30.0,
    )
    (b,) = simulate_batch(plan, 3, [0])
    a = simulate_fast(plan, draw(plan, replication_seed(3, plan.stream, 0)))
    assert b.counts["in_call"] > 0
    assert b.counts == a.counts


def test_engine_choice():
    """``auto`` takes the batch engine for large runs only, with the same results; ``batch``
    refuses what it does not run (checkpoints, fixed distributions)."""
    plan = continuous(make_plan(40, requested=20, over=24, availability=0.8, dispatchers=3))
    reps = BATCH_MIN_WORK
    (auto,) = run_plans([plan], seed=1, replications=reps)
    (heap,) = run_plans([plan], seed=1, replications=reps, engine="fast")
    assert [r.completion_min for r in auto] == [r.completion_min for r in heap]
    cp = CheckpointSpec("c", 0, service=Dist.lognormal(1.0, 0.2))
    with_cp = dataclasses.replace(plan, checkpoints=(cp,))
    assert not supports(with_cp)
    assert not supports(make_plan(5))
    with pytest.raises(ValidationError, match="batch engine does not support"):
        run_replications(with_cp, 1, range(2), engine="batch")
    # auto on an unsupported plan falls back without error (heap engine or SimPy)
    assert len(run_replications(make_plan(5), 1, range(reps))) == reps
