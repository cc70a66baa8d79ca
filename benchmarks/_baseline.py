"""The straightforward design, for comparison: per-vehicle networkx routing and one SimPy
process per called vehicle.

Written from the model's description (DESIGN.md §2), not from ``sim/model.py``: it takes the
scenario (fleet, rules, distributions) and the road graph, and the same random inputs as the
project (:func:`sim.model.draw`, which only needs the fleet size), so its results can be set
next to the project's. It supports what the reference sweep uses: count demands, any scope
rule, staging lanes, and no checkpoints (ordos-123 has none).

* **Routing**: for every vehicle of a requested class, ``networkx.shortest_path`` from its
  depot to the staging node with the class's travel-time weight, and ``networkx.path_weight``
  along it (the path is what a checkpoint model would need).
* **Model**: the command centre calls, per class, the ``ceil(d x over_request)`` best-ranked
  vehicles (mean mobilisation + travel time) and replaces every failed call; each call is a
  SimPy process that queues for its operator's dispatchers (a ``Resource``), then, if the
  driver accepts, mobilises, drives and queues for a registration lane at the staging point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import networkx as nx
import numpy as np
import simpy

from sim.network import RoadNetwork
from sim.plan import draw
from sim.scenario import Scenario


@dataclass
class Setup:
    """What the baseline computed once per incident: deadline and ranked candidates."""

    name: str
    deadline_min: float
    # per class: (class, requested, ranked vehicle indices, travel minutes per vehicle)
    classes: list[tuple[str, int, list[int], dict[int, float]]]


def route(network: RoadNetwork, scenario: Scenario, name: str, node: int) -> Setup:
    """Per-vehicle networkx routing and ranking for an incident at node index ``node``.

    Parameters
    ----------
    network
        The road network (its ``graph`` carries ``travel_time_<class>`` edge weights).
    scenario
        The scenario; its first incident's demand and scope are used.
    name
        The incident's name (keys its random streams).
    node
        The staging node index.
    """
    if scenario.checkpoints:
        raise NotImplementedError("the baseline models no checkpoints")
    graph = network.graph
    target = int(network.node_ids[node])
    incident = scenario.incidents[0]
    assignment = scenario.rules.classify(network, node)
    scope = incident.scope or assignment.scope
    fleet = scenario.fleet
    depot_nodes = [network.places.locate(d.location) for d in fleet.depots]
    in_scope = _in_scope(network, depot_nodes, scope, assignment.zone)
    classes = []
    vehicle = 0
    first_vehicle = []
    for d in fleet.depots:
        first_vehicle.append(vehicle)
        vehicle += d.count
    for k, demand in incident.demand.items():
        weight = f"travel_time_{k}"
        minutes: dict[int, float] = {}
        for j, depot in enumerate(fleet.depots):
            if depot.vehicle_class != k or not in_scope[j]:
                continue
            source = int(network.node_ids[depot_nodes[j]])
            for v in range(first_vehicle[j], first_vehicle[j] + depot.count):
                path = nx.shortest_path(graph, source, target, weight=weight)
                minutes[v] = nx.path_weight(graph, path, weight) / 60.0
        mean_mob = fleet.classes[k].mobilisation(scenario.period).mean
        ranked = sorted(minutes, key=lambda v: (mean_mob + minutes[v], v))
        classes.append((k, int(demand), ranked, minutes))
    deadline = incident.deadline_min or assignment.deadline_min
    return Setup(name, float(deadline), classes)


def _in_scope(network: RoadNetwork, depot_nodes: list[int], scope: str, zone: str) -> list[bool]:
    if scope == "region":
        return [True] * len(depot_nodes)
    if scope == "central":
        return [bool(network.central[n]) for n in depot_nodes]
    return [str(network.zone[n]) == zone for n in depot_nodes]


def replicate(setup: Setup, scenario: Scenario, root: np.random.SeedSequence) -> float:
    """One replication; returns the assembly completion time (min, ``inf`` if never).

    Parameters
    ----------
    setup
        The incident's routing and ranking (:func:`route`).
    scenario
        The scenario (fleet parameters, staging, alert, trip factor).
    root
        The replication's seed sequence (:func:`sim.experiment.replication_seed`).
    """
    fleet = scenario.fleet
    n = fleet.total
    keys = fleet.vehicle_keys()  # the model's draws are keyed by vehicle identity
    d = draw(SimpleNamespace(n_vehicles=n, keys=keys, max_checkpoints=0, checkpoints=()), root)
    env = simpy.Environment()
    ops = {o.name: simpy.Resource(env, capacity=o.dispatchers) for o in fleet.operators}
    vehicle_op = []
    for depot in fleet.depots:
        vehicle_op += [ops[depot.operator]] * depot.count
    staging = simpy.Resource(env, capacity=scenario.staging.lanes)
    period = scenario.period
    registered: dict[int, float] = {}

    class Caller:
        def __init__(self, k: str, requested: int, ranked: list[int], minutes: dict) -> None:
            self.params = fleet.classes[k]
            self.ranked, self.minutes = ranked, minutes
            self.target = min(len(ranked), math.ceil(requested * scenario.over_request - 1e-9))
            self.next = self.pending = self.accepted = 0

        def top_up(self) -> None:
            while self.accepted + self.pending < self.target and self.next < len(self.ranked):
                env.process(self.call(self.ranked[self.next]))
                self.next += 1
                self.pending += 1

        def call(self, v: int) -> Any:
            p = self.params
            with vehicle_op[v].request() as req:
                yield req
                yield env.timeout(float(p.call.from_uniform(d.call[v])))
            self.pending -= 1
            ok = (
                d.avail[v] <= p.availability
                and d.reach[v] <= p.reach(period)
                and d.accept[v] <= p.accept
            )
            if not ok:
                self.top_up()
                return
            self.accepted += 1
            yield env.timeout(float(p.mobilisation(period).from_uniform(d.mobilisation[v])))
            trip = float(scenario.trip_factor.from_uniform(d.trip[v])) / scenario.speed_factor
            yield env.timeout(self.minutes[v] * trip)
            with staging.request() as req:
                yield req
                yield env.timeout(float(scenario.staging.service.from_uniform(d.service[v, 0])))
            registered[v] = env.now

    def command_centre() -> Any:
        yield env.timeout(float(scenario.alert.from_uniform(d.alert)))
        for k, requested, ranked, minutes in setup.classes:
            Caller(k, requested, ranked, minutes).top_up()

    env.process(command_centre())
    env.run()
    completion = 0.0
    for _, requested, ranked, _ in setup.classes:
        need = math.ceil(scenario.rules.success_fraction * requested - 1e-9)
        times = sorted(registered[v] for v in ranked if v in registered)
        completion = max(completion, times[need - 1] if need <= len(times) else math.inf)
    return completion


def summary(completions: list[float], deadline: float) -> tuple[float, float | None]:
    """P(holds) and the p90 completion (``None`` when it falls on a never-met replication)."""
    a = np.asarray(completions, dtype=np.float64)
    big = 1e300
    p90 = float(np.quantile(np.where(np.isfinite(a), a, big), 0.9))
    return float(np.mean(a <= deadline)), (None if p90 >= big / 10 else p90)
