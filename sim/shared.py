"""Shared-fleet plans: every incident of a scenario in one replication, drawing on one fleet.

With ``fleet_sharing: shared`` the incidents of a scenario are not separate questions but one
emergency: each incident is alarmed at its own time (``at_min`` after the first alarm) and
calls vehicles from the one fleet. :class:`SharedPlan` holds what the shared model
(:mod:`sim.sharedmodel`) needs on top of the per-incident plans (:class:`sim.plan.IncidentPlan`,
built as for independent runs): alarm times, task durations, the allocation policy's key of
every incident, the checkpoints of every incident's routes renumbered over the scenario, the
staging points that coincide, and the routes of vehicles released at one incident's staging
point to every later incident's staging point. :func:`prepare_shared` builds it.

The allocation rule (README, "Several incidents at once") is stated in
:mod:`sim.sharedmodel`, which implements it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.dists import Dist
from sim.errors import ValidationError
from sim.network import RoadNetwork
from sim.plan import CheckpointSpec, IncidentPlan
from sim.planning import (
    checkpoint_node,
    prepare,
    resolve_depots,
    route_central_min,
    route_legs,
    steady_state_warmup,
)
from sim.scenario import Scenario

#: Allocation policies (``dispatch.policy``).
POLICIES: tuple[str, ...] = ("first_come", "deadline", "priority")


@dataclass(frozen=True)
class Move:
    """The route of a vehicle of one class released at another incident's staging point.

    Attributes
    ----------
    expected_min
        Mean mobilisation + free-flow minutes to the staging point (its rank key).
    legs_min
        Free-flow minutes of each leg.
    checkpoints
        Scenario checkpoint index after each leg but the last.
    central_min
        Free-flow minutes of each leg in the central urban area (with a traffic shock only).
    """

    expected_min: float
    legs_min: np.ndarray
    checkpoints: np.ndarray
    central_min: np.ndarray | None = None


@dataclass(frozen=True)
class SharedPlan:
    """Everything one shared-fleet replication needs, computed once.

    Attributes
    ----------
    plans
        The incidents' plans, in scenario order (one fleet: the same vehicle arrays).
    at_min
        Alarm of every incident, minutes after the first alarm.
    task
        How long a registered vehicle stays busy with each incident (``None``: for good).
    policy
        ``first_come``, ``deadline`` or ``priority``.
    policy_key
        Every incident's rank under the policy (dispatchers serve the lowest first; equal
        keys in the order the calls were placed).
    expected_min
        Per incident, per class: expected arrival of every candidate from its home depot,
        aligned with ``ClassPlan.candidates`` (the rank key of today's ranking).
    home_checkpoints
        Per incident: the scenario checkpoint index of each of the plan's checkpoints.
    checkpoints
        Every checkpoint of the scenario that lies on some route (by scenario index;
        ``None`` where on no route).
    staging_slot
        Per incident: which staging resource it registers at (incidents with the same
        staging node share their registration lanes).
    moves
        ``moves[j][k][i]``: the route of a class-``k`` vehicle released at incident ``i``'s
        staging point to incident ``j``'s (``None`` when unreachable or ``i == j``).
    t0
        The first alarm in simulation time (the warm-up of the background traffic, when any).
    """

    plans: tuple[IncidentPlan, ...]
    at_min: tuple[float, ...]
    task: tuple[Dist | None, ...]
    policy: str
    policy_key: tuple[float, ...]
    expected_min: tuple[tuple[np.ndarray, ...], ...]
    home_checkpoints: tuple[np.ndarray, ...]
    checkpoints: tuple[CheckpointSpec | None, ...]
    staging_slot: tuple[int, ...]
    moves: tuple[tuple[tuple[Move | None, ...], ...], ...]
    t0: float

    @property
    def n_incidents(self) -> int:
        """Number of incidents."""
        return len(self.plans)

    @property
    def max_service_columns(self) -> int:
        """Checkpoint columns of the service draws: the most checkpoints on any route."""
        most = max((p.max_checkpoints for p in self.plans), default=0)
        for per_class in self.moves:
            for per_source in per_class:
                for m in per_source:
                    if m is not None:
                        most = max(most, int(m.checkpoints.size))
        return most


def policy_keys(scenario: Scenario, plans: Sequence[IncidentPlan]) -> tuple[float, ...]:
    """Every incident's rank under the scenario's allocation policy (lowest served first).

    ``first_come``: 0 for all (calls are served in the order placed); ``deadline``: the
    incident's absolute deadline, ``at_min + deadline_min``; ``priority``: its ``priority``
    (incidents without one after every incident with one).
    """
    policy = scenario.dispatch_policy
    if policy == "first_come":
        return tuple(0.0 for _ in plans)
    if policy == "deadline":
        return tuple(
            float(i.at_min + p.deadline_min) for i, p in zip(scenario.incidents, plans, strict=True)
        )
    given = [i.priority for i in scenario.incidents if i.priority is not None]
    last = float(max(given, default=0) + 1)
    return tuple(float(i.priority) if i.priority is not None else last for i in scenario.incidents)


def prepare_shared(
    network: RoadNetwork,
    scenario: Scenario,
    plans: Sequence[IncidentPlan] | None = None,
) -> SharedPlan:
    """Build the shared-fleet plan of ``scenario``.

    Parameters
    ----------
    network
        The scenario's network (:func:`sim.planning.scenario_network`).
    scenario
        The scenario (any ``fleet_sharing``; the plan is what a shared run needs).
    plans
        The incidents' plans, if already prepared (:func:`sim.planning.prepare`).
    """
    if scenario.dispatch_policy not in POLICIES:
        raise ValidationError(
            f"`dispatch.policy` must be one of {POLICIES}, got {scenario.dispatch_policy!r}"
        )
    plans = tuple(prepare(network, scenario) if plans is None else plans)
    cp_nodes = [checkpoint_node(network, c) for c in scenario.checkpoints]
    by_name = {c.name: i for i, c in enumerate(scenario.checkpoints)}
    cp_at_node: dict[int, list[int]] = {}
    for i, n in enumerate(cp_nodes):
        cp_at_node.setdefault(int(n), []).append(i)
    used: set[int] = set()
    home = []
    for p in plans:
        idx = np.array([by_name[c.name] for c in p.checkpoints], dtype=np.int64)
        used.update(idx.tolist())
        home.append(idx)
    depot_nodes = resolve_depots(network, scenario.fleet)
    expected = []
    for p in plans:
        per_class = []
        for cp in p.classes:
            # The rank key of planning: mean mobilisation + free-flow minutes from the depot.
            time_s = network.tree_to(p.node, cp.vehicle_class).time_s
            at_depot = cp.mobilisation.mean + time_s[depot_nodes] / 60.0
            per_class.append(at_depot[p.vehicle_depot[cp.candidates]])
        expected.append(tuple(per_class))
    moves = []
    for j, pj in enumerate(plans):
        per_class = []
        for cp in pj.classes:
            tree = network.tree_to(pj.node, cp.vehicle_class)
            per_source: list[Move | None] = []
            for i, pi in enumerate(plans):
                if i == j or not math.isfinite(tree.time_s[pi.node]):
                    per_source.append(None)
                    continue
                legs, stops = route_legs(tree, pi.node, cp_at_node)
                used.update(stops)
                per_source.append(
                    Move(
                        expected_min=float(cp.mobilisation.mean + tree.time_s[pi.node] / 60.0),
                        legs_min=legs,
                        checkpoints=np.array(stops, dtype=np.int64),
                        central_min=(
                            route_central_min(tree, pi.node, cp_at_node, network.central)
                            if scenario.shocks.traffic is not None
                            else None
                        ),
                    )
                )
            per_class.append(tuple(per_source))
        moves.append(tuple(per_class))
    specs = tuple(
        scenario.checkpoints[i].spec(int(cp_nodes[i])) if i in used else None
        for i in range(len(scenario.checkpoints))
    )
    active = [s for s in specs if s is not None]
    t0 = (
        steady_state_warmup(active, scenario.warmup_min)
        if any(s.background_per_min > 0 for s in active)
        else 0.0
    )
    slots: dict[int, int] = {}
    staging = tuple(slots.setdefault(p.node, len(slots)) for p in plans)
    return SharedPlan(
        plans=plans,
        at_min=tuple(float(i.at_min) for i in scenario.incidents),
        task=tuple(i.task_min for i in scenario.incidents),
        policy=scenario.dispatch_policy,
        policy_key=policy_keys(scenario, plans),
        expected_min=tuple(expected),
        home_checkpoints=tuple(home),
        checkpoints=specs,
        staging_slot=staging,
        moves=tuple(moves),
        t0=t0,
    )


def demand_notes(plans: Sequence[IncidentPlan]) -> list[str]:
    """Classes that several incidents of a shared run want more of than the fleet has.

    Allowed (it is the point of a shared run) but said: for every class requested by two or
    more incidents whose requests add up to at least the vehicles in their scopes (the union
    of their candidates), ``"hazmat: 50 requested in total, 50 in the fleet in scope, expect
    starvation"``. A demand of ``all`` counts as every candidate of that incident.

    Parameters
    ----------
    plans
        The incidents' plans.
    """
    notes = []
    classes: dict[str, list] = {}
    for p in plans:
        for cp in p.classes:
            classes.setdefault(cp.vehicle_class, []).append(cp)
    for k, cps in classes.items():
        if len(cps) < 2:
            continue
        total = sum(cp.requested for cp in cps)
        pool = int(np.unique(np.concatenate([cp.candidates for cp in cps])).size)
        if total >= pool:
            notes.append(
                f"{k}: {total:,} requested in total, {pool:,} in the fleet in scope, "
                "expect starvation"
            )
    return notes
