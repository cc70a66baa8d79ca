"""The traffic shock (issue 14, common shocks): congestion by area and time of day, scaled
by a level drawn once per replication and shared by every vehicle.

A leg that starts at clock ``t`` takes its central-area minutes × (1 + level × central[p])
plus its other minutes × (1 + level × elsewhere[p]), ``p`` = peak or off-peak at ``t``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.engine import supports
from sim.model import simulate
from sim.plan import SHOCKS, draw, replication_seed
from sim.planning import prepare, resolve_depots, route_central_min, route_legs
from sim.resolved import scenario_to_file
from sim.scenario import load_scenario, scenario_from_data

TEXT = """
name: traffic
start: "{start}"
dispatch: {{over_request: 1.0}}
{shocks}
fleet:
  base: none
  operators:
    - {{name: Taxi co, vehicle_class: taxi, dispatchers: 4}}
  depots:
    - {{name: near, location: Kangbashi, vehicles: {{taxi: 20}}, operators: {{taxi: Taxi co}}}}
    - {{name: far, location: Dongsheng, vehicles: {{taxi: 20}}, operators: {{taxi: Taxi co}}}}
    - {{name: out, location: Jungar, vehicles: {{taxi: 20}}, operators: {{taxi: Taxi co}}}}
rules: {{scope: {{central: region, banner: region, region: region}}}}
incidents:
  - {{name: A, location: Kangbashi, demand: {{taxi: 45}}}}
replications: 4
"""
LEVEL = 3  # traffic level uniform 0.5 + u
REPS = 4


def _load(tmp_path: Path, name: str, shocks: str = "", start: str = "12:00"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(TEXT.format(shocks=shocks, start=start), encoding="utf-8")
    return load_scenario(path)


def _runs(ordos, tmp_path, shocks: str, start: str = "12:00"):
    """Per replication: the plan, the draws, and the vehicles' rows without and with traffic."""
    base = _load(tmp_path, "base", start=start)
    shocked = _load(tmp_path, "shocked", shocks, start=start)
    (p0,), (p1,) = prepare(ordos, base), prepare(ordos, shocked)
    assert not supports(p1)  # traffic runs on SimPy
    for rep in range(REPS):
        root = replication_seed(base.seed, p0.stream, rep)
        d = draw(p1, root)
        assert np.array_equal(draw(p0, root).trip, d.trip)  # common random numbers
        a = {r.vehicle: r for r in simulate(p0, d, log_vehicles=True).vehicles}
        b = {r.vehicle: r for r in simulate(p1, d, log_vehicles=True).vehicles}
        yield p1, d, a, b


def _level(d) -> float:
    return 0.5 + float(d.shock[SHOCKS.index("traffic_level")])


def test_a_common_traffic_level_scales_every_vehicles_travel_by_the_same_factor(ordos, tmp_path):
    """The same extra everywhere, off-peak: every vehicle's travel × (1 + level × 0.4), one
    level per replication (drawn from its shock uniform), another in another replication."""
    shocks = (
        "shocks: {traffic: {level: {uniform: {low: 0.5, high: 1.5}},"
        " central: {peak: 2.0, offpeak: 0.4}, elsewhere: {peak: 2.0, offpeak: 0.4}}}"
    )
    levels = []
    for _, d, a, b in _runs(ordos, tmp_path, shocks):
        ratio = [b[v].travel / a[v].travel for v in a if v in b and a[v].travel > 0]
        assert len(ratio) >= 20
        assert ratio == pytest.approx([1 + _level(d) * 0.4] * len(ratio), rel=1e-9)
        levels.append(_level(d))
    assert len(set(levels)) == REPS


def test_congestion_applies_to_the_minutes_in_the_central_area_only(ordos, tmp_path):
    """Central extra 0.5, none elsewhere: a vehicle's travel grows by 0.5 × its route's
    central share; the Jungar taxis (mostly outside) grow less than the Dongsheng ones."""
    shocks = "shocks: {traffic: {central: {peak: 0.5, offpeak: 0.5}}}"
    grew: dict[str, list[float]] = {"far": [], "out": []}
    for plan, _, a, b in _runs(ordos, tmp_path, shocks):
        depots = ["near", "far", "out"]
        for v, row in a.items():
            if v not in b or not row.travel > 0:
                continue
            dep = int(plan.vehicle_depot[v])
            legs, central = plan.depot_legs_min[dep], plan.depot_central_min[dep]
            share = float(central.sum() / legs.sum())
            assert 0.0 <= share <= 1.0
            assert b[v].travel / row.travel == pytest.approx(1 + 0.5 * share, rel=1e-9)
            if depots[dep] in grew:
                grew[depots[dep]].append(b[v].travel / row.travel)
    assert grew["far"] and grew["out"]
    assert min(grew["far"]) > max(grew["out"]) > 1.0  # Jungar's route enters the area last


def test_the_peak_follows_the_clock_of_each_leg(ordos, tmp_path):
    """A 07:00 alarm, peak from 07:30: a vehicle rolling before 07:30 drives off-peak (no
    extra), one rolling after drives in the peak (× 2), in the same replication."""
    shocks = (
        "shocks: {traffic: {central: {peak: 1.0, offpeak: 0.0}, "
        'elsewhere: {peak: 1.0, offpeak: 0.0}, peaks: [{start: "07:30", end: "09:00"}]}}'
    )
    seen = set()
    for _, _, a, b in _runs(ordos, tmp_path, shocks, start="07:00"):
        for v, row in a.items():
            if v not in b or not row.travel > 0:
                continue
            assert b[v].rolling_min == row.rolling_min  # traffic starts with the drive
            peak = b[v].rolling_min >= 30.0
            assert b[v].travel / row.travel == pytest.approx(2.0 if peak else 1.0, rel=1e-9)
            seen.add(peak)
    assert seen == {True, False}


def test_central_minutes_split_the_route_legs(ordos, tmp_path):
    """route_central_min gives, per leg of route_legs, the minutes on edges between central
    nodes: never more than the leg, a larger share from Dongsheng than from Jungar."""
    sc = _load(tmp_path, "split")
    (plan,) = prepare(ordos, sc)
    tree = ordos.tree_to(plan.node, "taxi")
    central = ordos.central.astype(bool)
    nodes = dict(
        zip(
            (d.name.split()[0] for d in sc.fleet.depots),
            resolve_depots(ordos, sc.fleet),
            strict=True,
        )
    )
    share = {}
    for name in ("far", "out"):
        legs, _ = route_legs(tree, int(nodes[name]), {})
        inside = route_central_min(tree, int(nodes[name]), {}, central)
        assert inside.shape == legs.shape
        assert np.all(inside <= legs + 1e-12) and np.all(inside >= 0)
        share[name] = inside.sum() / legs.sum()
    # Dongsheng and Kangbashi are both central, with a stretch between them that is not.
    assert 1 > share["far"] > share["out"] > 0
    # Cut at a checkpoint on the Jungar route: the legs' central minutes still add up.
    path = tree.path(int(nodes["out"]))
    mid = {int(path[path.size // 2]): [0]}
    legs, stops = route_legs(tree, int(nodes["out"]), mid)
    inside = route_central_min(tree, int(nodes["out"]), mid, central)
    assert stops == [0] and inside.shape == legs.shape == (2,)
    assert inside.sum() == pytest.approx(
        route_central_min(tree, int(nodes["out"]), {}, central).sum()
    )


def test_the_resolved_scenario_keeps_the_traffic_shock(tmp_path):
    shocks = (
        "shocks: {traffic: {level: {uniform: {low: 0.5, high: 1.5}}, "
        'central: {peak: 0.6, offpeak: 0.2}, peaks: [{start: "22:30", end: "01:00"}]}}'
    )
    sc = _load(tmp_path, "x", shocks)
    back = scenario_from_data(scenario_to_file(sc), file="r.yaml", name="r")
    assert back.shocks == sc.shocks
    assert back.shocks.traffic.peaks == ((22.5, 1.0),)
    assert back.shocks.traffic.central == (0.6, 0.2)
