"""The coverage baseline of ``fleetsim plan``: what a maximal covering model alone would buy.

Peers (JEMSS's MCLP, location-allocation tools) place vehicles so that as many sites as
possible are *covered* by free-flow travel time. :func:`coverage_plan` is that model over the
placing levers of a levers file (:mod:`sim.levers`), solved exactly with
:func:`scipy.optimize.milp`; :mod:`sim.optimise` re-simulates its plan beside its own, so the
README can show where simulation changes the answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.errors import ScenarioError, ValidationError
from sim.levers import Levers
from sim.network import RoadNetwork
from sim.planning import prepare, prepare_incident, resolve_depots, scenario_network
from sim.scenario import Scenario
from sim.sites import SiteChoice
from sim.sweeps import templates

#: Slack on the budget constraint (a plan costing exactly the budget is affordable).
_EPS = 1e-9


def coverage_plan(
    levers: Levers,
    scenario: Scenario,
    network: RoadNetwork,
    sites: SiteChoice | None,
    incident: str | None,
    budget: float,
) -> tuple[dict[int, int], dict[str, Any]]:
    """The plan a maximal covering model buys with ``budget``: travel time only.

    A site is *covered* when, for every class it requests a count of, at least that many
    vehicles of the class wait at nodes whose free-flow travel time to the site is within
    the site's deadline (no alert, call-out, mobilisation, queues or scope: the model of
    location-allocation tools). Only the levers that place vehicles (``vehicles``,
    ``move_vehicles``) exist for it. Maximise the sites covered, then minimise the cost,
    within the budget and the levers' limits (:func:`scipy.optimize.milp`). With ``sites``,
    each site's demand is that of ``incident``, or, for ``None``, of the scenario's incident of
    the site's tier, as :func:`sim.sweeps.sweep` places it (:func:`sim.sweeps.templates`).

    Returns
    -------
    tuple
        The plan, and a summary (sites covered before and after, the options it could use).
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    net = scenario_network(scenario, network)
    opts = [i for i, o in enumerate(levers.options) if o.kind in ("vehicles", "move_vehicles")]
    # Sites: their node, deadline and count demand per class.
    targets: list[tuple[str, int, float, dict[str, int]]] = []
    if sites is None:
        for inc, p in zip(scenario.incidents, prepare(net, scenario), strict=True):
            demand = {k: v for k, v in inc.demand.items() if isinstance(v, int)}
            targets.append((p.name, p.node, p.deadline_min, demand))
    else:
        tmpl = templates(scenario, incident, network=net, per_tier=incident is None)
        depots = resolve_depots(net, scenario.fleet)
        for s in sites.sites:
            inc, _ = tmpl.place(scenario, net, s)
            try:
                p = prepare_incident(net, scenario, inc, depot_nodes=depots, checkpoint_nodes=[])
            except (ValidationError, ScenarioError):
                continue
            demand = {k: v for k, v in inc.demand.items() if isinstance(v, int)}
            targets.append((s.name, s.node, p.deadline_min, demand))
    depots = resolve_depots(net, scenario.fleet)
    classes = sorted({k for *_, d in targets for k in d})
    n_x = len(opts)
    rows: list[tuple[int, str]] = [(t, k) for t, (*_, d) in enumerate(targets) for k in d]
    n_y, n_z = len(rows), len(targets)
    n = n_x + n_y + n_z
    within: dict[str, np.ndarray] = {}
    for k in classes:
        minutes = net.times_to([t[1] for t in targets], k) / 60.0
        within[k] = minutes <= np.array([t[2] for t in targets])[:, None]
    a_rows, lo, hi = [], [], []
    covered_before = 0
    for r, (t, k) in enumerate(rows):
        need = targets[t][3][k]
        row = np.zeros(n)
        have = sum(
            d.count
            for j, d in enumerate(scenario.fleet.depots)
            if d.vehicle_class == k and within[k][t, depots[j]]
        )
        for c, i in enumerate(opts):
            o = levers.options[i]
            if o.target[0] != k:
                continue
            if o.kind == "vehicles":
                row[c] = float(within[k][t, o.target[1]])
            else:
                row[c] = float(within[k][t, o.target[2]]) - float(within[k][t, o.target[1]])
        row[n_x + r] = -need  # have + sum(row x) >= need * y
        a_rows.append(row)
        lo.append(-have)
        hi.append(np.inf)
    for r, (t, _k) in enumerate(rows):  # z_t <= y_r
        row = np.zeros(n)
        row[n_x + n_y + t], row[n_x + r] = 1.0, -1.0
        a_rows.append(row)
        lo.append(-np.inf)
        hi.append(0.0)
    cost = np.zeros(n)
    for c, i in enumerate(opts):
        cost[c] = levers.options[i].unit_cost
    a_rows.append(cost.copy())
    lo.append(-np.inf)
    hi.append(budget + _EPS)
    for lever in {levers.options[i].lever for i in opts}:
        row = np.zeros(n)
        members = [c for c, i in enumerate(opts) if levers.options[i].lever == lever]
        for c in members:
            row[c] = 1.0
        a_rows.append(row)
        lo.append(-np.inf)
        hi.append(levers.options[opts[members[0]]].group_max)
    for t, (*_, d) in enumerate(targets):
        if all(
            sum(
                dd.count
                for j, dd in enumerate(scenario.fleet.depots)
                if dd.vehicle_class == k and within[k][t, depots[j]]
            )
            >= d[k]
            for k in d
        ):
            covered_before += 1
    upper = np.concatenate(
        [[levers.options[i].max_units for i in opts], np.ones(n_y), np.ones(n_z)]
    )
    total = float(cost.sum() * upper[:n_x].sum()) + 1.0
    objective = np.concatenate([cost[:n_x] / total, np.zeros(n_y), -np.ones(n_z)])
    res = milp(
        objective,
        constraints=LinearConstraint(np.array(a_rows), lo, hi) if a_rows else (),
        integrality=np.ones(n),
        bounds=Bounds(np.zeros(n), upper),
    )
    plan: dict[int, int] = {}
    covered = covered_before
    if res.x is not None:
        for c, i in enumerate(opts):
            units = round(float(res.x[c]))
            if units > 0:
                plan[i] = units
        covered = round(float(res.x[n_x + n_y :].sum()))
    info = {
        "model": "maximal covering: free-flow travel time within the deadline, no call-out, "
        "no queues, no scope",
        "budget": budget,
        "options": [levers.options[i].name for i in opts],
        "sites": len(targets),
        "covered_before": covered_before,
        "covered_after": covered,
        "solver": "scipy.optimize.milp (HiGHS)",
        "status": res.message if hasattr(res, "message") else "",
    }
    return plan, info
