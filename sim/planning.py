"""Planning: from a scenario and a road network to the plans the engines run.

:func:`scenario_network` gives the network a run uses (the fleet's speed profiles and the
scenario's closures, applied once); :func:`prepare` turns every incident into a
:class:`sim.plan.IncidentPlan`: tier and deadline, eligible vehicles ranked by expected
arrival, each depot's route cut into legs at the checkpoints on it. This is the per-incident
work, done once; replications only sample and simulate. :func:`closure_report` says, once per
run, what each closure closes and how many of the incidents' candidate routes it changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from sim.closures import ClosureEffect, closure_edges, opened, with_closures
from sim.demand import basis_of, is_every
from sim.errors import NetworkError, ValidationError
from sim.fleet import Fleet
from sim.locations import access_minutes, point_tier, snap
from sim.netload import load_network
from sim.network import PathTree, RoadNetwork, road_km
from sim.plan import CheckpointSpec, ClassPlan, IncidentPlan
from sim.scenario import Incident, Scenario
from sim.siting import WARMUP_RELAXATIONS, CheckpointSite, overload, queue_load, relaxation_min
from sim.targets import TierAssignment, demand_shortfall, depots_in_scope


def _locate(network: RoadNetwork, text: str, what: str) -> int:
    try:
        return network.places.locate(text)
    except NetworkError as exc:
        raise ValidationError(f"{what}: {exc}") from None


def checkpoint_node(network: RoadNetwork, site: CheckpointSite) -> int:
    """Node index of a checkpoint site: its graph node id when given, else its location."""
    if site.node_id is not None:
        try:
            return network.index_of(site.node_id)
        except NetworkError as exc:
            raise ValidationError(f"checkpoint {site.name!r}: {exc}") from None
    return _locate(network, site.location, f"checkpoint {site.name!r}: location")


def incident_tier(network: RoadNetwork, scenario: Scenario, incident: Incident) -> TierAssignment:
    """The tier of ``incident`` in ``scenario``, as a run assigns it.

    The tier follows the true point (validation's demand check uses the same rule): an
    access leg's length counts towards the banner radius; an explicit ``tier`` wins.

    Raises
    ------
    NetworkError, ValidationError
        As :func:`sim.locations.point_tier`.
    """
    assignment, _ = point_tier(
        network,
        scenario.rules,
        incident.location,
        tier=incident.tier,
        max_snap_km=scenario.max_snap_km,
        access_legs=scenario.access_legs,
    )
    return assignment


def _placed(
    network: RoadNetwork, scenario: Scenario, incident: Incident, depot_nodes: np.ndarray
) -> tuple[int, TierAssignment, str, np.ndarray]:
    """An incident's staging node, tier assignment, scope and depots in scope (a mask)."""
    where = _locate(network, incident.location, f"incident {incident.name!r}: location")
    assignment = incident_tier(network, scenario, incident)
    node = where  # the staging point: the incident's node unless given
    if incident.staging_point is not None:
        node = _locate(
            network, incident.staging_point, f"incident {incident.name!r}: staging_point"
        )
    scope = incident.scope or assignment.scope
    return node, assignment, scope, depots_in_scope(network, depot_nodes, scope, assignment.zone)


def prepare_incident(
    network: RoadNetwork,
    scenario: Scenario,
    incident: Incident,
    *,
    depot_nodes: np.ndarray | None = None,
    checkpoint_nodes: Sequence[int] | None = None,
) -> IncidentPlan:
    """Compute the per-incident plan: tier, eligible vehicles ranked, routes and checkpoints.

    Parameters
    ----------
    network
        The road network (with the scenario's speed profiles).
    scenario
        The scenario.
    incident
        The incident to plan.
    depot_nodes, checkpoint_nodes
        Node index of every depot / checkpoint site, if already resolved.

    Raises
    ------
    ValidationError
        On an unknown location, an incident outside the region, or a demand above the
        vehicles in scope.
    """
    fleet = scenario.fleet
    if depot_nodes is None:
        depot_nodes = resolve_depots(network, fleet)
    if checkpoint_nodes is None:
        checkpoint_nodes = [checkpoint_node(network, c) for c in scenario.checkpoints]
    node, assignment, scope, in_scope = _placed(network, scenario, incident, depot_nodes)
    at = snap(network, incident.location)
    stage = at if incident.staging_point is None else snap(network, incident.staging_point)
    # An off-road leg from the staging node to the staging point, for every vehicle.
    stage_access = (
        access_minutes(stage.km)
        if scenario.access_legs and stage.km > scenario.max_snap_km
        else 0.0
    )
    deadline = incident.deadline_min or assignment.deadline_min

    cp_at_node: dict[int, list[int]] = {}
    for i, n in enumerate(checkpoint_nodes):
        cp_at_node.setdefault(int(n), []).append(i)

    n_depots = len(fleet.depots)
    legs: list[np.ndarray] = [np.zeros(0)] * n_depots
    cps: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * n_depots
    used_cps: dict[int, int] = {}
    traffic = scenario.shocks.traffic is not None
    central_legs: list[np.ndarray] = [np.zeros(0)] * n_depots
    vehicle_depot = fleet.vehicle_depots()
    depot_class = np.array([d.vehicle_class for d in fleet.depots])
    depot_count = np.array([d.count for d in fleet.depots], dtype=np.int64)
    fleet_totals = fleet.count_by_class()
    ops = fleet.operator_index()
    depot_operator = np.array([ops[d.operator] for d in fleet.depots], dtype=np.int64)
    vehicle_operator = depot_operator[vehicle_depot]
    period = scenario.period
    classes: list[ClassPlan] = []
    for k, d in incident.demand.items():
        params = fleet.classes[k]
        tree = network.tree_to(node, k)
        eligible = np.flatnonzero(
            in_scope & (depot_class == k) & np.isfinite(tree.time_s[depot_nodes])
        )
        for dep in eligible.tolist():
            legs[dep], stops = route_legs(tree, int(depot_nodes[dep]), cp_at_node)
            if traffic:
                central_legs[dep] = route_central_min(
                    tree, int(depot_nodes[dep]), cp_at_node, network.central
                )
            if stops:
                cps[dep] = np.array(
                    [used_cps.setdefault(ci, len(used_cps)) for ci in stops], dtype=np.int64
                )
        mean_mob = params.mobilisation(period).mean
        expected = np.full(n_depots, np.nan)
        expected[eligible] = mean_mob + tree.time_s[depot_nodes[eligible]] / 60.0
        cand = np.flatnonzero(np.isin(vehicle_depot, eligible))
        key = expected[vehicle_depot[cand]]
        cand = cand[np.lexsort((cand, key))]
        if is_every(d):
            requested, initial = int(cand.size), int(cand.size)
        else:
            requested = int(d)
            shortfall = demand_shortfall(
                k,
                requested,
                reachable=int(cand.size),
                in_scope=int(depot_count[in_scope & (depot_class == k)].sum()),
                fleet_total=fleet_totals[k],
                scope=scope,
            )
            if shortfall is not None:
                raise ValidationError(f"incident {incident.name!r}: {shortfall}")
            initial = min(cand.size, math.ceil(requested * scenario.over_request - 1e-9))
        classes.append(
            ClassPlan(
                vehicle_class=k,
                requested=requested,
                basis=basis_of(d),
                candidates=cand,
                initial_calls=initial,
                call=params.call,
                mobilisation=params.mobilisation(period),
                availability=params.availability,
                reach=params.reach(period),
                accept=params.accept,
                reach_day_night=(params.reach("day"), params.reach("night")),
                mobilisation_day_night=(params.mobilisation("day"), params.mobilisation("night")),
            )
        )
    depot_access = depot_access_minutes(network, scenario)
    for dep in range(n_depots):
        if legs[dep].size and (stage_access or depot_access[dep]):
            leg = legs[dep].copy()
            leg[0] += depot_access[dep]
            leg[-1] += stage_access
            legs[dep] = leg
    # Keep only checkpoints that lie on some route, renumbered in order of first use.
    order = sorted(used_cps, key=used_cps.__getitem__)
    specs = tuple(scenario.checkpoints[i].spec(int(checkpoint_nodes[i])) for i in order)
    return IncidentPlan(
        name=incident.name,
        node=node,
        tier=assignment.tier,
        deadline_min=float(deadline),
        success_fraction=scenario.rules.success_fraction,
        classes=tuple(classes),
        vehicle_depot=vehicle_depot,
        vehicle_operator=vehicle_operator,
        operator_dispatchers=tuple(o.dispatchers for o in fleet.operators),
        operator_callout=tuple(o.callout for o in fleet.operators),
        clock_hour=(scenario.start_hour + incident.at_min / 60.0) % 24.0,
        night_hours=scenario.night_hours,
        shocks=scenario.shocks,
        depot_legs_min=tuple(legs),
        depot_checkpoints=tuple(cps),
        depot_central_min=tuple(central_legs) if traffic else (),
        checkpoints=specs,
        staging=scenario.staging,
        alert=scenario.alert,
        trip_factor=scenario.trip_factor,
        speed_factor=scenario.speed_factor,
        warmup_min=steady_state_warmup(specs, scenario.warmup_min),
        vehicle_key=fleet.vehicle_keys(),
        snap_km=(at.km, stage.km),
        access_min=stage_access,
    )


def route_legs(
    tree: PathTree, source: int, cp_at_node: Mapping[int, Sequence[int]]
) -> tuple[np.ndarray, list[int]]:
    """A route to the tree's target cut into legs at the checkpoints on it.

    Parameters
    ----------
    tree
        The shortest-path tree to the staging point, for the vehicle's class.
    source
        The node index the route starts from (a depot, or where a vehicle was released).
    cp_at_node
        Checkpoint indices at each node that has any.

    Returns
    -------
    legs, stops
        Free-flow minutes of every leg, and the checkpoint index after each leg but the last.
    """
    if not cp_at_node:  # one leg, the whole route: no need to walk the path
        t0 = tree.time_s[source] / 60.0
        return np.maximum(np.diff(-np.array([t0, 0.0])), 0.0), []
    path = tree.path(source)
    t = tree.time_s[path] / 60.0
    stops = _stops(path, cp_at_node)
    times = [t[p] for p in _leg_marks(path, stops)[:-1]] + [0.0]
    return np.maximum(np.diff(-np.array(times)), 0.0), [ci for _, ci in stops]


def _stops(path: np.ndarray, cp_at_node: Mapping[int, Sequence[int]]) -> list[tuple[int, int]]:
    """(position on ``path``, checkpoint index) of every checkpoint passed, in order."""
    return [(pos, ci) for pos, n in enumerate(path[:-1].tolist()) for ci in cp_at_node.get(n, ())]


def _leg_marks(path: np.ndarray, stops: Sequence[tuple[int, int]]) -> list[int]:
    """Positions on ``path`` where the legs begin and the last ends: the start, each stop,
    the target."""
    return [0, *(pos for pos, _ in stops), path.size - 1]


def route_central_min(
    tree: PathTree, source: int, cp_at_node: Mapping[int, Sequence[int]], central: np.ndarray
) -> np.ndarray:
    """Free-flow minutes of each leg of :func:`route_legs` inside the central urban area.

    An edge of the route counts when both its ends are central nodes. Off-road access legs
    (added to the first and last leg later) count as outside.

    Parameters
    ----------
    tree, source, cp_at_node
        As for :func:`route_legs`.
    central
        ``True`` for the network's nodes in the central urban area.

    Returns
    -------
    numpy.ndarray
        One value per leg of :func:`route_legs`, each at most that leg's minutes.
    """
    path = tree.path(source)
    t = tree.time_s[path] / 60.0
    inside = central[path[:-1]] & central[path[1:]]
    cum = np.concatenate([[0.0], np.cumsum(np.maximum(t[:-1] - t[1:], 0.0) * inside)])
    return np.diff(cum[_leg_marks(path, _stops(path, cp_at_node))])


def steady_state_warmup(checkpoints: Sequence[CheckpointSpec], minimum: float = 0.0) -> float:
    """Minutes of ordinary traffic before the incident, so shared checkpoint queues are in
    steady state when the fleet arrives.

    A queue that starts empty approaches its steady state over a few *relaxation times*. In
    the heavy-traffic (reflected Brownian motion) approximation of the work in a queue with
    Poisson arrivals at rate λ, ``c`` lanes, service S and load ``ρ = λ E[S] / c``, the
    relaxation time is ``τ = 2 λ E[S²] / (c² (1 − ρ)²)`` (exact to first order for M/M/1,
    where ``τ = E[S] / (1 − √ρ)²``). The warm-up is ``WARMUP_RELAXATIONS`` × the largest τ
    over the checkpoints whose lanes the fleet shares (not dedicated green lanes), and never
    less than ``minimum`` (the scenario's ``warmup_min``). At ρ = 0.9 (1 lane, 0.8 vehicles
    per minute, lognormal service of median 1 and sigma 0.5) that is about 2,400 minutes; at
    ρ = 0.3 a few minutes, so ``minimum`` decides.

    Parameters
    ----------
    checkpoints
        The checkpoints on the incident's routes.
    minimum
        The least warm-up, minutes.

    Raises
    ------
    ValidationError
        When ordinary traffic alone loads a checkpoint's lanes at ρ >= 1: its queue grows
        without bound and never reaches a steady state; or so close to 1 that the warm-up
        would pass :data:`sim.limits.MAX_STEADY_WARMUP_MIN` (:func:`sim.siting.overload`).
    """
    worst = 0.0
    for c in checkpoints:
        if c.background_per_min <= 0 or c.green == "dedicated":
            continue
        lam, svc = c.background_per_min, c.bg_service
        rho = queue_load(c.lanes, lam, svc)
        if rho >= 1.0:
            raise ValidationError(
                f"checkpoint {c.name!r}: ordinary traffic alone loads its {c.lanes} lane(s) at "
                f"{rho:.2f} (>= 1: {lam:g} vehicles/min x {svc.mean:.3g} min mean service): the "
                "queue grows without bound; add lanes or lower `background_per_min`"
            )
        why = overload(c.lanes, lam, svc, c.green)  # a steady state too far away
        if why:
            raise ValidationError(f"checkpoint {c.name!r}: {why}")
        worst = max(worst, relaxation_min(c.lanes, lam, svc))
    return max(float(minimum), WARMUP_RELAXATIONS * worst)


def depot_access_minutes(network: RoadNetwork, scenario: Scenario) -> np.ndarray:
    """Minutes of each depot's off-road access leg (0 unless ``access_legs`` and the depot's
    point lies beyond ``max_snap_km`` from its node)."""
    out = np.zeros(len(scenario.fleet.depots))
    if scenario.access_legs:
        for i, d in enumerate(scenario.fleet.depots):
            km = snap(network, d.location).km
            if km > scenario.max_snap_km:
                out[i] = access_minutes(km)
    return out


def resolve_depots(network: RoadNetwork, fleet: Fleet) -> np.ndarray:
    """Node index of every depot of ``fleet`` (errors name the depot)."""
    return np.array(
        [_locate(network, d.location, f"depot {d.name!r}: location") for d in fleet.depots],
        dtype=np.int64,
    )


def prepare(network: RoadNetwork, scenario: Scenario) -> list[IncidentPlan]:
    """Prepare every incident of ``scenario`` (locations resolved once)."""
    depots = resolve_depots(network, scenario.fleet)
    cps = [checkpoint_node(network, c) for c in scenario.checkpoints]
    return [
        prepare_incident(network, scenario, inc, depot_nodes=depots, checkpoint_nodes=cps)
        for inc in scenario.incidents
    ]


def scenario_network(scenario: Scenario, network: RoadNetwork | None = None) -> RoadNetwork:
    """The network a run of ``scenario`` uses: its fleet's speed profiles and its closures.

    Parameters
    ----------
    scenario
        The scenario.
    network
        A loaded network *without* the scenario's closures, to reuse; by default
        ``load_network(scenario.network)``.

    Raises
    ------
    ValidationError
        When a closure cannot be placed on the network (unknown road or place).
    """
    profiles = {k: p.speed for k, p in scenario.fleet.classes.items()}
    if network is None:
        network = load_network(scenario.network, profiles=profiles)
    elif any(network.profiles.get(k) != p for k, p in profiles.items()):
        network = network.with_profiles(profiles)
    if scenario.closures:
        try:
            network = with_closures(network, scenario.closures)
        except NetworkError as exc:
            raise ValidationError(f"closures: {exc}") from None
    return network


def closure_report(
    scenario: Scenario, network: RoadNetwork | None = None
) -> tuple[ClosureEffect, ...]:
    """What each closure of ``scenario`` closes, and how many candidate routes it changes.

    Each closure is taken on its own against the open network (with the fleet's speed
    profiles). A *candidate route* is one per incident, requested class and depot of that
    class in the incident's scope (as the run places the incident: tier and scope on the
    network with every closure) that reaches the staging point on the open network. It
    *changed* when the closure lengthens or cuts it, or when its fastest path on the open
    network used a closed edge (an equally fast detour is still another path). A closure
    that changes no route says so: ``0 of N``.

    Parameters
    ----------
    scenario
        The scenario.
    network
        A loaded network, with or without the scenario's closures (as
        :func:`scenario_network` takes it); by default ``load_network(scenario.network)``.

    Returns
    -------
    tuple of ClosureEffect
        One per closure, in the scenario's order; empty without closures.

    Raises
    ------
    ValidationError
        When a closure cannot be placed on the network, or an incident cannot be placed.
    """
    if not scenario.closures:
        return ()
    closed = scenario_network(scenario, network)
    base = opened(closed)
    depot_nodes = resolve_depots(closed, scenario.fleet)
    depot_class = np.array([d.vehicle_class for d in scenario.fleet.depots])
    candidates: list[tuple[int, str, np.ndarray]] = []  # staging node, class, depot nodes
    for incident in scenario.incidents:
        node, _, _, in_scope = _placed(closed, scenario, incident, depot_nodes)
        for k in incident.demand:
            candidates.append((node, k, depot_nodes[in_scope & (depot_class == k)]))
    n = base.n_nodes
    effects = []
    for closure in scenario.closures:
        edges = closure_edges(base, closure)
        alone = with_closures(base, [closure])
        closed_pairs = base.edge_u[edges] * n + base.edge_v[edges]
        routes = changed = 0
        for node, k, depots in candidates:
            before, after = base.tree_to(node, k), alone.tree_to(node, k)
            for d in depots.tolist():
                t0 = float(before.time_s[d])
                if not math.isfinite(t0):
                    continue
                routes += 1
                path = before.path(d)
                if (
                    not math.isclose(float(after.time_s[d]), t0, rel_tol=1e-9)
                    or np.isin(path[:-1] * n + path[1:], closed_pairs).any()
                ):
                    changed += 1
        km = road_km(base.edge_u[edges], base.edge_v[edges], base.edge_length[edges])
        effects.append(ClosureEffect(closure, int(edges.size), km, routes, changed))
    return tuple(effects)
