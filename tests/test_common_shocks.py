"""Common shocks (issue 14): per replication, draws shared by every vehicle.

Acceptance test: a common speed shock scales every vehicle's travel in a replication by the
same factor (and by another factor in another replication). Also: a platform outage delays
the first push by its duration; the shocks are keyed by the scenario seed and the replication
only, so every incident and every variant of a replication shares them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from sim.engine import simulate_fast, supports
from sim.model import simulate
from sim.plan import draw, replication_seed, shock_uniforms
from sim.planning import prepare
from sim.scenario import load_scenario

TEXT = """
name: shocks
dispatch: {{over_request: 1.0}}
{shocks}
fleet:
  base: none
  operators:
    - {{name: Taxi co, vehicle_class: taxi, dispatchers: 4{callout}}}
  depots:
    - {{name: near, location: Kangbashi, vehicles: {{taxi: 20}}, operators: {{taxi: Taxi co}}}}
    - {{name: far, location: Dongsheng, vehicles: {{taxi: 20}}, operators: {{taxi: Taxi co}}}}
rules: {{scope: {{central: region, banner: region, region: region}}}}
incidents:
  - {{name: A, location: Kangbashi, demand: {{taxi: 30}}}}
  - {{name: B, location: Dongsheng, demand: {{taxi: 25}}}}
replications: 4
"""


def _plans(ordos, tmp_path: Path, name: str, shocks: str = "", callout: str = ""):
    path = tmp_path / f"{name}.yaml"
    path.write_text(TEXT.format(shocks=shocks, callout=callout), encoding="utf-8")
    sc = load_scenario(path)
    return sc, prepare(ordos, sc)


def test_a_common_speed_shock_scales_every_vehicles_travel_by_the_same_factor(ordos, tmp_path):
    sc, base = _plans(ordos, tmp_path, "base")
    _, shocked = _plans(
        ordos, tmp_path, "shocked", "shocks: {speed_factor: {uniform: {low: 0.7, high: 1.3}}}"
    )
    factors = []
    for p0, p1 in zip(base, shocked, strict=True):
        for rep in range(4):
            root = replication_seed(sc.seed, p0.stream, rep)
            d = draw(p0, root)
            assert np.array_equal(draw(p1, root).trip, d.trip)  # common random numbers
            a = simulate(p0, d, log_vehicles=True)
            b = simulate(p1, d, log_vehicles=True)
            travel_a = {r.vehicle: r.travel for r in a.vehicles if np.isfinite(r.travel)}
            travel_b = {r.vehicle: r.travel for r in b.vehicles if np.isfinite(r.travel)}
            ratio = [travel_a[v] / travel_b[v] for v in travel_a if v in travel_b and travel_a[v]]
            assert len(ratio) >= 5
            # The speed factor of the replication, from its shock uniform: 0.7 + 0.6 u.
            expected = 0.7 + 0.6 * float(d.shock[0])
            assert ratio == pytest.approx([expected] * len(ratio), rel=1e-9)
            factors.append((rep, expected))
            # The heap engine applies the same shock.
            assert supports(p1)
            fast = simulate_fast(p1, d, log_vehicles=True)
            got = {r.vehicle: (r.travel, r.registered_min) for r in fast.vehicles}
            want = {r.vehicle: (r.travel, r.registered_min) for r in b.vehicles}
            assert got.keys() == want.keys()
            for v, (t, reg) in want.items():
                assert got[v] == pytest.approx((t, reg), abs=1e-9, nan_ok=True)
    # Both incidents of a replication share its factor; the replications differ.
    by_rep = {rep: {f for r, f in factors if r == rep} for rep in range(4)}
    assert all(len(f) == 1 for f in by_rep.values())
    assert len({next(iter(f)) for f in by_rep.values()}) == 4


def test_shocks_are_keyed_by_seed_and_replication_only():
    a = shock_uniforms(replication_seed(7, "incident A", 3))
    b = shock_uniforms(replication_seed(7, "incident B", 3))
    c = shock_uniforms(replication_seed(7, "incident A", 4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.all((a > 0) & (a <= 1))


def test_variants_that_differ_elsewhere_draw_the_same_shocks(ordos, tmp_path):
    # Common random numbers pair variants through the shocks too: another fleet size and
    # over-request (other vehicles, other draws per vehicle) leave every replication's shock
    # uniforms as they were.
    shocks = "shocks: {speed_factor: {uniform: {low: 0.7, high: 1.3}}}"
    sc, base = _plans(ordos, tmp_path, "base", shocks)
    path = tmp_path / "variant.yaml"
    text = TEXT.format(shocks=shocks, callout="").replace("over_request: 1.0", "over_request: 1.3")
    path.write_text(
        text.replace("Dongsheng, vehicles: {taxi: 20}", "Dongsheng, vehicles: {taxi: 35}")
    )
    variant = prepare(ordos, load_scenario(path))
    assert sum(len(c.candidates) for p in variant for c in p.classes) > sum(
        len(c.candidates) for p in base for c in p.classes
    )
    for p0, p1 in zip(base, variant, strict=True):
        for rep in range(4):
            root = replication_seed(sc.seed, p0.stream, rep)
            assert np.array_equal(draw(p0, root).shock, draw(p1, root).shock)


def test_a_platform_outage_delays_the_first_push(ordos, tmp_path):
    """Outage probability 1, 12 minutes: every first batch leaves 12 min after the alert,
    batch i at alert + 12 + i x interval."""
    callout = ", callout: {mode: platform, batch_size: 5, batch_interval_min: 2}"
    sc, plans = _plans(ordos, tmp_path, "up", callout=callout)
    _, down = _plans(
        ordos, tmp_path, "down", "shocks: {platform_outage: {probability: 1, duration: 12}}",
        callout,
    )  # fmt: skip
    for p_up, p_down in zip(plans, down, strict=True):
        d = draw(p_up, replication_seed(sc.seed, p_up.stream, 0))
        a = simulate(p_up, d, log_vehicles=True)
        b = simulate(p_down, d, log_vehicles=True)
        alert = min(r.called_min for r in a.vehicles)
        pushes_a = sorted({round(r.called_min - alert, 9) for r in a.vehicles})
        pushes_b = sorted({round(r.called_min - alert, 9) for r in b.vehicles})
        assert pushes_a[:2] == pytest.approx([0, 2])
        assert pushes_b[:2] == pytest.approx([12, 14])


def test_no_shocks_by_default(ordos, tmp_path):
    sc, plans = _plans(ordos, tmp_path, "none")
    assert not sc.shocks.active and all(not p.shocks.active for p in plans)
    d = draw(plans[0], replication_seed(sc.seed, plans[0].stream, 0))
    same = dataclasses.replace(d, shock=None)
    assert simulate(plans[0], same).completion_min == simulate(plans[0], d).completion_min
