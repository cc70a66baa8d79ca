"""Scenarios: what to simulate, as validated Python objects and as YAML files.

A :class:`Scenario` holds everything a run needs besides the road network: incidents and their
demand, the fleet, the tier rules, time of day, weather, closures, checkpoints and toll plazas,
staging, replications and the seed. Every constructor validates its arguments and names the
bad parameter and value.

Scenario files
--------------
Planners write scenarios as YAML; :func:`load_scenario` turns a file into a :class:`Scenario`
and :func:`validate_file` lists its problems. The language is described by pydantic models
(every mapping rejects unknown keys) and exported as JSON Schema by
:func:`scenario_json_schema` (``fleetsim schema``); ``scenarios/README.md`` is the planner's
reference. A minimal file::

    name: kangbashi-taxis
    incidents:
      - location: kangbashi          # a place of the network, or "LAT,LON"
        demand: {taxi: 100, bus: 20}

Everything else has a documented default: the embedded Ordos network, the default 2,010-vehicle
fleet, the ``ordos-123`` tier rules, a 10:00 start, fair weather, no closures, checkpoints or
tolls, 200 replications, seed 20220630.

Loading is in two phases, and each reports *every* problem it finds, with the file, the line,
the key path (``incidents[1].demand.coach``), the bad value and the allowed values or close
matches:

1. **schema**: YAML syntax (line and column), unknown keys, types, ranges, vehicle classes
   against the file's classes (the defaults and those under ``vehicle_classes``), and every
   place name or ``LAT,LON`` checked against the network (the network is loaded first, from
   the file's ``network`` key);
2. **meaning** (once the schema holds): the file's own classes are complete (or start from
   another with ``like``); the fleet is built and must not be empty; closures,
   checkpoints and toll stations are placed on the network; every incident's demand must be
   coverable by the vehicles in scope that can reach its staging point (after closures).

Problems are raised together as one :class:`sim.errors.ScenarioError`.

This module holds the runtime records and orchestrates the two phases; the language itself is
:mod:`sim.schema` (the value rules it shares with the records: :mod:`sim.fields`; the vehicle
classes: :mod:`sim.vehicles`), the placement of checkpoints and toll plazas
:mod:`sim.siting`, the fleet arithmetic (class totals, people to vehicles) :mod:`sim.fleet`,
and the demand check :func:`sim.targets.demand_shortfall`. The inverse, a :class:`Scenario`
written back as a file, is :func:`sim.resolved.scenario_to_file`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field, InstanceOf
from pydantic import ValidationError as PydanticValidationError

from sim import yamlio
from sim.closures import Closure, closure_edges, with_closures
from sim.demand import PLAIN_ALL, is_every, plain_all_warning
from sim.dists import Dist
from sim.errors import NetworkError, ScenarioError, ValidationError
from sim.fields import (
    AsTuple,
    Count,
    DemandValue,
    DispatchPolicy,
    DistField,
    FleetSharing,
    Hour,
    NonNegFloat,
    OverRequest,
    PositiveFloat,
    PositiveInt,
    ScopeName,
    Tier,
    did_you_mean,
    dist_over_limit,
    record,
    shown,
)
from sim.fleet import Depot, Fleet, Operator, default_fleet, people_to_vehicles, resized
from sim.limits import MAX_ORDINARY_VEHICLES, MAX_VEHICLES
from sim.locations import DEFAULT_MAX_SNAP_KM, far_message, point_tier, snap
from sim.netload import cached_network
from sim.network import RoadNetwork
from sim.plan import (
    NIGHT_HOURS,
    NO_SHOCKS,
    CalloutSpec,
    ShockSpec,
    StagingSpec,
    TrafficShock,
    is_night,
)
from sim.schema import (
    DEFAULT_ALERT,
    DEFAULT_TRIP_MEDIAN,
    DEFAULT_TRIP_SIGMA,
    CalloutFileSpec,
    FleetSpec,
    IncidentSpec,
    ScenarioFile,
    TrafficSpec,
    WaveSpec,
    network_shorthand,
    scenario_json_schema,
    schema_messages,
    validate_file_data,
)
from sim.sites import candidate_sites
from sim.siting import CheckpointSite, checkpoint_sites, ordinary_vehicles
from sim.targets import RuleSet, demand_shortfall, depots_in_scope
from sim.vehicles import DEFAULT_CLASSES, ClassParams, Period, build_class, class_problem

__all__ = [
    "CheckpointSite",
    "Closure",
    "Incident",
    "Problem",
    "Scenario",
    "ScenarioFile",
    "load_scenario",
    "load_scenario_with_network",
    "scenario_from_data",
    "scenario_json_schema",
    "validate_file",
]

# ---------------------------------------------------------------------------------------------
# Runtime dataclasses
# ---------------------------------------------------------------------------------------------


@record(lambda v: f"incident {v.get('name')!r}")
class Incident:
    """One incident: where, what is requested, and optionally its tier or deadline.

    Parameters
    ----------
    name
        Unique name; it also keys the incident's random streams.
    location
        A place known to the network or ``"LAT,LON"``; it sets the tier, and the staging
        point is its nearest node unless ``staging_point`` is given.
    demand
        Vehicles requested per class: a count, ``"all_in_scope"`` (every reserve vehicle in
        scope must arrive), ``"all_accepted"`` (every one that accepted must arrive) or plain
        ``"all"`` (read as ``all_accepted``; :attr:`Scenario.warnings` says so): :mod:`sim.demand`.
        The classes are checked against the fleet's by the :class:`Scenario`.
    tier
        Force a tier instead of deriving it from the location.
    deadline_min
        Override the tier's deadline.
    scope
        Override the rule set's depot scope for this incident.
    staging_point
        Where the vehicles assemble, if not at the incident location (place or ``"LAT,LON"``).
    at_min
        Shared fleet only: the alarm, minutes after the scenario's start (the first alarm).
    priority
        Shared fleet, ``priority`` policy only: 1 is served first.
    task_min
        Shared fleet only: minutes a registered vehicle stays busy with the incident before
        it returns to service where it is; ``None``: until the end of the horizon.
    """

    name: str
    location: str
    demand: Annotated[Mapping[str, DemandValue], Field(min_length=1)]
    tier: Tier | None = None
    deadline_min: PositiveFloat | None = None
    scope: ScopeName | None = None
    staging_point: str | None = None
    at_min: NonNegFloat = 0.0
    priority: PositiveInt | None = None
    task_min: DistField | None = None


@record("scenario")
class Scenario:
    """Everything a run needs besides the road network itself.

    The defaults are the documented Ordos assumptions (README, "Model and assumptions").
    ``closures`` are applied to the network by :func:`sim.experiment.run`. The vehicle
    classes are the fleet's (``fleet.classes``): every incident's demand names some of them.
    """

    name: str
    incidents: Annotated[tuple[Incident, ...], AsTuple, Field(min_length=1)]
    network: str = "ordos"
    fleet: Fleet = field(default_factory=default_fleet)
    rules: RuleSet = field(default_factory=RuleSet)
    start_hour: Hour = 10.0
    night_hours: tuple[Hour, Hour] = NIGHT_HOURS
    shocks: ShockSpec = NO_SHOCKS
    alert: DistField = field(default_factory=lambda: DEFAULT_ALERT)
    over_request: OverRequest = 1.1
    trip_factor: DistField = field(
        default_factory=lambda: Dist.lognormal(DEFAULT_TRIP_MEDIAN, DEFAULT_TRIP_SIGMA)
    )
    speed_factor: PositiveFloat = 1.0
    checkpoints: Annotated[tuple[InstanceOf[CheckpointSite], ...], AsTuple] = ()
    staging: StagingSpec = field(default_factory=StagingSpec)
    warmup_min: NonNegFloat = 60.0
    replications: PositiveInt = 200
    seed: Count = 20220630
    closures: Annotated[tuple[InstanceOf[Closure], ...], AsTuple] = ()
    max_snap_km: PositiveFloat = DEFAULT_MAX_SNAP_KM
    access_legs: bool = False
    fleet_sharing: FleetSharing = "independent"
    dispatch_policy: DispatchPolicy = "first_come"
    description: str = field(default="", compare=False)
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        names = [i.name for i in self.incidents]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValidationError(f"scenario: duplicate incident names {dup}")
        for inc in self.incidents:
            for k in inc.demand:
                problem = class_problem(k, self.fleet.classes)
                if problem:
                    raise ValidationError(f"incident {inc.name!r}: `demand`: {problem}")

    @property
    def period(self) -> Period:
        """The period of the first alarm: ``night`` in ``night_hours`` (22:00 to 06:00 by
        default), else ``day``. The model itself goes by the clock: each call's reach and each
        acceptance's mobilisation take the period of their own clock time."""
        return "night" if is_night(self.start_hour, self.night_hours) else "day"

    @property
    def warnings(self) -> tuple[str, ...]:
        """What a planner should know about how the scenario was read, though it is valid:
        every plain ``all`` demand and the meaning it got (:func:`sim.demand.plain_all_warning`).
        ``fleetsim validate``, ``run``, ``sweep`` and ``compare`` print them on stderr."""
        return tuple(
            plain_all_warning(f"incident {inc.name!r} (incidents[{j}].demand.{k})", k)
            for j, inc in enumerate(self.incidents)
            for k, d in inc.demand.items()
            if d == PLAIN_ALL
        )


# ---------------------------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One problem of a scenario file.

    Attributes
    ----------
    file
        The file (as given, or relative to the working directory).
    path
        The key path, e.g. ``incidents[1].demand.coach`` (empty for the whole file).
    message
        What is wrong, with the bad value and the allowed values or close matches.
    line, column
        Where in ``file`` (1-based), when known.
    """

    file: str
    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def format_path(path: Sequence[str | int]) -> str:
    """Format a key path: ``("incidents", 1, "demand", "coach")`` → ``incidents[1].demand.coach``.

    Keys that are not plain words are quoted: ``fleet.depot_counts['Jungar hazmat']``.
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.match(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{str(part)!r}]"
    return out


class _Collector:
    """Collects problems with key paths; finds each path's file and line from the marks."""

    def __init__(self, file: str, marks: Mapping[tuple, yamlio.Mark]) -> None:
        self.file = file
        self.marks = {tuple(str(p) for p in k): v for k, v in marks.items()}
        self.problems: list[Problem] = []

    def add(self, path: Sequence[str | int], message: str) -> None:
        key = tuple(str(p) for p in path)
        mark = None
        for k in range(len(key), -1, -1):
            mark = self.marks.get(key[:k])
            if mark is not None:
                break
        file = mark.file if mark is not None else self.file
        line = mark.line if mark is not None and key else None
        column = mark.column if mark is not None and key else None
        self.problems.append(Problem(file, format_path(path), message, line, column))


# ---------------------------------------------------------------------------------------------
# From the file model to a Scenario (checks that need the whole scenario and the network)
# ---------------------------------------------------------------------------------------------


def _build_classes(spec: ScenarioFile, out: _Collector) -> dict[str, ClassParams]:
    """The default classes with the file's overrides, then the file's own classes."""
    classes = dict(DEFAULT_CLASSES)
    for k, over in spec.vehicle_classes.items():
        try:
            classes[k] = build_class(k, over, classes)
        except ValidationError as exc:
            out.add(("vehicle_classes", k), str(exc))
            continue
        for name in ("call", "mobilisation_day", "mobilisation_night"):
            why = dist_over_limit(getattr(classes[k], name))
            if why:  # e.g. a delay scaled by mobilisation_factor
                out.add(("vehicle_classes", k), f"{name} is {why}")
    return classes


def _build_fleet(spec: FleetSpec, classes: dict[str, ClassParams], out: _Collector) -> Fleet | None:
    p = ("fleet",)
    operators: list[Operator] = []
    depots: list[Depot] = []
    if spec.base == "default":
        base = default_fleet()
        operators, depots = list(base.operators), list(base.depots)
    # The total of a class found only under fleet.depots (a class of the file's own) is
    # spread over those depots once they are added.
    listed = {k for d in spec.depots for k in d.vehicles}
    later = {
        k: n
        for k, n in spec.totals.items()
        if k in listed and not any(d.vehicle_class == k for d in depots)
    }
    if spec.scale != 1.0 or spec.totals:
        totals = {k: n for k, n in spec.totals.items() if k not in later}
        depots, unspread = resized(depots, scale=spec.scale, totals=totals)
        for k, message in unspread.items():
            out.add((*p, "totals", k), f"{message}; list depots under fleet.depots")
    names = [d.name for d in depots]
    for name, count in spec.depot_counts.items():
        if name not in names:
            out.add(
                (*p, "depot_counts", name),
                f"no depot {name!r} in the base fleet"
                + (did_you_mean(name, names) or f"; depots: {', '.join(names) or 'none'}"),
            )
            continue
        i = names.index(name)
        depots[i] = replace(depots[i], count=count)
    _set_by_name(
        operators,
        spec.dispatchers,
        lambda o, n: replace(o, dispatchers=n),
        (*p, "dispatchers"),
        "the base fleet",
        out,
    )
    by_op = {o.name: o for o in operators}
    for j, o in enumerate(spec.operators):
        if o.name in by_op:
            out.add((*p, "operators", j, "name"), f"operator {o.name!r} is defined twice")
            continue
        op = Operator(o.name, o.vehicle_class, o.dispatchers)
        if o.callout is not None:
            op = replace(op, callout=callout_spec(o.callout))
        operators.append(op)
        by_op[o.name] = op
    depot_names = set(names)
    for j, d in enumerate(spec.depots):
        label = d.name or d.location
        for k, count in d.vehicles.items():
            name = f"{label} {k}"
            if name in depot_names:
                out.add((*p, "depots", j, "name"), f"depot {name!r} is defined twice")
                continue
            depot_names.add(name)
            op_name = d.operators.get(k)
            if op_name is None:
                op_name = f"{label} {k}"
                if op_name not in by_op:
                    by_op[op_name] = Operator(op_name, k, d.dispatchers)
                    operators.append(by_op[op_name])
            elif op_name not in by_op:
                out.add(
                    (*p, "depots", j, "operators", k),
                    f"unknown operator {op_name!r}{did_you_mean(op_name, list(by_op))}; "
                    "define it under fleet.operators",
                )
                continue
            if by_op[op_name].vehicle_class != k:
                out.add(
                    (*p, "depots", j, "operators", k),
                    f"operator {op_name!r} runs {by_op[op_name].vehicle_class}, not {k}",
                )
                continue
            depots.append(Depot(name, d.location, k, count, op_name))
        for k in d.operators:
            if k not in d.vehicles:
                out.add(
                    (*p, "depots", j, "operators", k),
                    f"an operator for {k!r}, but the depot has no {k} vehicles",
                )
    if later:
        depots, unspread = resized(depots, totals=later)
        for k, message in unspread.items():
            out.add((*p, "totals", k), message)
    total = sum(d.count for d in depots)
    if total > MAX_VEHICLES:
        out.add(p, f"{total:,} vehicles, more than the limit of {MAX_VEHICLES:,} in the fleet")
        return None
    if total == 0:
        out.add(
            p,
            "the fleet is empty (no depot has a vehicle): list depots under fleet.depots, or "
            "use the default fleet (fleet: default)",
        )
        return None
    _set_by_name(
        operators,
        spec.callout,
        lambda o, c: replace(o, callout=callout_spec(c, o.callout)),
        (*p, "callout"),
        "the fleet",
        out,
    )
    try:
        return Fleet(classes, tuple(operators), tuple(depots))
    except ValidationError as exc:
        out.add(p, str(exc))
        return None


def _set_by_name(
    operators: list[Operator],
    values: Mapping[str, Any],
    change: Callable[[Operator, Any], Operator],
    path: tuple[str | int, ...],
    where: str,
    out: _Collector,
) -> None:
    """Change the operators named in ``values`` in place (``fleet.dispatchers`` and
    ``fleet.callout``); an unknown name is a problem at ``path``."""
    names = [o.name for o in operators]
    for name, value in values.items():
        if name not in names:
            out.add((*path, name), f"no operator {name!r} in {where}{did_you_mean(name, names)}")
            continue
        i = names.index(name)
        operators[i] = change(operators[i], value)


def callout_spec(spec: CalloutFileSpec, base: CalloutSpec | None = None) -> CalloutSpec:
    """The runtime call-out record of a file's ``callout`` mapping.

    Parameters
    ----------
    spec
        The mapping as read.
    base
        The operator's call-out so far (``fleet.callout`` by name changes only the keys it
        gives); ``None``: every key not given takes its default.
    """
    if base is None:
        return CalloutSpec(
            spec.mode, spec.batch_size, spec.batch_interval_min, spec.response, spec.confirm
        )
    return replace(base, **{k: getattr(spec, k) for k in spec.model_fields_set})


def traffic_shock(spec: TrafficSpec | None) -> TrafficShock | None:
    """The runtime traffic shock of a file's ``shocks.traffic`` (``None``: none)."""
    if spec is None:
        return None
    return TrafficShock(
        level=spec.level,
        central=(spec.central.peak, spec.central.offpeak),
        elsewhere=(spec.elsewhere.peak, spec.elsewhere.offpeak),
        peaks=tuple((p.start, p.end) for p in spec.peaks),
    )


def _build_incident(
    j: int, spec: IncidentSpec, fleet: Fleet | None, out: _Collector, start: float = 0.0
) -> Incident | None:
    p = ("incidents", j)
    before = len(out.problems)
    name = spec.name or spec.location
    demand: dict[str, int | str] = dict(spec.demand)
    move = spec.move
    if move is not None and fleet is not None:
        for unit, amount, by, key in (
            ("persons", move.people, move.people_by, "people"),
            ("tonnes", move.tonnes, move.tonnes_by, "tonnes"),
        ):
            if not amount:
                continue
            try:
                vehicles = people_to_vehicles(amount, by, fleet, unit=unit)
            except ValidationError as exc:
                out.add((*p, "move", f"{key}_by"), str(exc))
                continue
            for k, n in vehicles.items():
                if is_every(demand.get(k, 0)):
                    out.add(
                        (*p, "move", f"{key}_by"),
                        f"{k} is already requested as {demand[k]!r} in demand; drop it from one "
                        "of them",
                    )
                    continue
                demand[k] = int(demand.get(k, 0)) + n
    elif move is not None:
        return None
    at_min = spec.at_min or 0.0
    if spec.at is not None:
        at_min = round((spec.at - start) * 60.0, 9)
        if at_min < 0:
            out.add(
                (*p, "at"),
                f"the alarm at {spec.at:.2f} h is before the scenario's `start` "
                f"({start:.2f} h), the first alarm; give `at_min` for a later day",
            )
    if len(out.problems) > before:
        return None
    try:
        return Incident(
            name=name,
            location=spec.location,
            demand=demand,
            tier=None if spec.tier == "auto" else spec.tier,
            deadline_min=spec.deadline_min,
            scope=spec.scope,
            staging_point=spec.staging_point,
            at_min=at_min,
            priority=spec.priority,
            task_min=spec.task_min,
        )
    except ValidationError as exc:
        out.add(p, str(exc))
        return None


class _InWave(_Collector):
    """Reports the problems of a wave's generated incidents under ``waves[w]``."""

    def __init__(self, base: _Collector, w: int) -> None:
        super().__init__(base.file, {})
        self.base, self.w = base, w
        self.seen: set[tuple[tuple[str | int, ...], str]] = set()

    def add(self, path: Sequence[str | int], message: str) -> None:
        if len(path) >= 2 and path[0] == "incidents":
            path = ("waves", self.w, *path[2:])
        if (tuple(path), message) not in self.seen:  # once per wave, not per incident
            self.seen.add((tuple(path), message))
            self.base.add(path, message)


def _wave_incidents(
    wave: WaveSpec, w: int, network: RoadNetwork | None, out: _Collector, max_snap_km: float
) -> list[IncidentSpec]:
    """The incidents of one wave, as incident specs (already validated by the wave's)."""
    if wave.locations is not None:
        places = [(loc, loc) for loc in wave.locations]
    elif network is None:
        return []  # the network's own problem is reported
    else:
        try:
            sites = candidate_sites(network, str(wave.sites), max_snap_km=max_snap_km)
        except ValidationError as exc:
            out.add(("waves", w, "sites"), str(exc).replace("--sites", "sites"))
            return []
        places = [(s.name, network.places.lat_lon(s.node)) for s in sites]
    return [
        IncidentSpec.model_construct(
            name=f"{wave.name} {k + 1}, {places[k % len(places)][0]}",
            location=places[k % len(places)][1],
            staging_point=None,
            demand=dict(wave.demand),
            move=wave.move,
            tier="auto",
            deadline_min=wave.deadline_min,
            scope=wave.scope,
            at=None,
            at_min=wave.at_min + k * wave.interval_min,
            priority=wave.priority,
            task_min=wave.task_min,
        )
        for k in range(wave.count)
    ]


def _check_demand(
    j: int,
    spec: IncidentSpec,
    incident: Incident,
    scenario: Scenario,
    network: RoadNetwork,
    depot_nodes: np.ndarray,
    out: _Collector,
) -> None:
    """Demand against the vehicles in scope that can reach the staging point."""
    p = ("incidents", j)
    try:  # the run's tier (sim.planning): from the true point
        tier, _ = point_tier(
            network,
            scenario.rules,
            incident.location,
            tier=incident.tier,
            max_snap_km=scenario.max_snap_km,
            access_legs=scenario.access_legs,
        )
    except ValidationError as exc:
        out.add((*p, "location"), str(exc))
        return
    scope = incident.scope or tier.scope
    staging = network.places.locate(incident.staging_point or incident.location)
    in_scope = depots_in_scope(network, depot_nodes, scope, tier.zone)
    depot_class = np.array([d.vehicle_class for d in scenario.fleet.depots])
    counts = np.array([d.count for d in scenario.fleet.depots])
    scoped, reach = {}, {}
    for k in incident.demand:
        mask = in_scope & (depot_class == k)
        ok = np.isfinite(network.tree_to(staging, k).time_s[depot_nodes])
        scoped[k], reach[k] = int(counts[mask].sum()), int(counts[mask & ok].sum())
    if sum(scoped.values()) > 0 and sum(reach.values()) == 0:
        key = "staging_point" if incident.staging_point else "location"
        out.add(
            (*p, key),
            f"the staging point {incident.staging_point or incident.location!r} cannot be "
            f"reached from any depot in scope '{scope}' (do the closures cut it off?): none "
            f"of the {sum(scoped.values())} requested vehicles in scope "
            f"({', '.join(f'{k} {n}' for k, n in scoped.items())}) can get there",
        )
        return
    totals = scenario.fleet.count_by_class()
    for k, d in incident.demand.items():
        shortfall = demand_shortfall(
            k, d, reachable=reach[k], in_scope=scoped[k], fleet_total=totals[k], scope=scope
        )
        if shortfall is not None:
            out.add((*p, "demand", k) if k in spec.demand else (*p, "move"), shortfall)


def _build(
    spec: ScenarioFile, name: str, source: str, network: RoadNetwork | None, out: _Collector
) -> Scenario | None:
    before = len(out.problems)
    classes = _build_classes(spec, out)
    # A fleet of a class that could not be defined would only repeat that problem.
    fleet = _build_fleet(spec.fleet, classes, out) if len(out.problems) == before else None
    closures: list[Closure] = []
    closed = network
    for j, c in enumerate(spec.closures):
        closure = Closure(
            road=c.road,
            between=tuple(c.between) if c.between else None,
            near=c.near,
            radius_km=c.radius_km,
            name=c.name or "",
        )
        if network is not None:
            try:
                closure_edges(network, closure)
            except NetworkError as exc:
                out.add(("closures", j), str(exc))
                continue
        closures.append(closure)
    if network is not None and closures and len(closures) == len(spec.closures):
        closed = with_closures(network, closures)
    if closed is not None and fleet is not None and set(fleet.classes) - set(closed.classes):
        # The file defines classes of its own: route them too.
        closed = closed.with_profiles({k: c.speed for k, c in fleet.classes.items()})
    checkpoints, problems = checkpoint_sites(spec.checkpoints, spec.tolls, network)
    for path, message in problems:
        out.add(path, message)
    ordinary = ordinary_vehicles(checkpoints, spec.warmup_min) if not problems else 0.0
    if ordinary > MAX_ORDINARY_VEHICLES:
        out.add(
            ("checkpoints",),
            f"ordinary traffic at every checkpoint and toll plaza over the warm-up and the 24 h "
            f"after the alarm is about {ordinary:,.0f} vehicles per replication, more than the "
            f"limit of {MAX_ORDINARY_VEHICLES:,}; lower background_per_min or the number of "
            "checkpoints",
        )
    rules = spec.rules
    ruleset = RuleSet(
        name=rules.name,
        deadlines_min={**RuleSet().deadlines_min, **rules.deadlines_min},
        banner_radius_km=rules.banner_radius_km,
        scope={**RuleSet().scope, **rules.scope},
        success_fraction=rules.success_fraction,
    )
    specs = list(spec.incidents)
    where: list[_Collector] = [out] * len(specs)  # a wave's incidents report under its path
    for w, wave in enumerate(spec.waves):
        wave_specs = _wave_incidents(wave, w, network, out, spec.locations.max_snap_km)
        specs += wave_specs
        where += [_InWave(out, w)] * len(wave_specs)  # one collector: its problems once
    incidents = [
        _build_incident(j, inc, fleet, c, spec.start)
        for j, (inc, c) in enumerate(zip(specs, where, strict=True))
    ]
    names = [i.name for i in incidents if i is not None]
    for j, inc in enumerate(incidents):
        if inc is not None and names.count(inc.name) > 1:
            where[j].add(
                ("incidents", j, "name"),
                f"duplicate incident name {inc.name!r}; give each incident a `name`",
            )
    if out.problems or fleet is None or any(i is None for i in incidents):
        return None
    try:
        scenario = Scenario(
            name=name,
            incidents=tuple(i for i in incidents if i is not None),
            network=spec.network.source,
            fleet=fleet,
            rules=ruleset,
            start_hour=spec.start,
            night_hours=(spec.night.start, spec.night.end),
            shocks=ShockSpec(
                spec.shocks.speed_factor,
                spec.shocks.trip_time_spread,
                spec.shocks.platform_outage.probability,
                spec.shocks.platform_outage.duration,
                traffic_shock(spec.shocks.traffic),
            ),
            alert=spec.dispatch.alert,
            over_request=spec.dispatch.over_request,
            trip_factor=Dist.lognormal(
                spec.weather.trip_time_median, spec.weather.trip_time_spread
            ),
            speed_factor=spec.weather.speed_factor,
            checkpoints=tuple(checkpoints),
            staging=StagingSpec(spec.staging.lanes, spec.staging.service),
            warmup_min=spec.warmup_min,
            replications=spec.replications,
            seed=spec.seed,
            closures=tuple(closures),
            max_snap_km=spec.locations.max_snap_km,
            access_legs=spec.locations.access_legs,
            fleet_sharing=spec.fleet_sharing,
            dispatch_policy=spec.dispatch.policy,
            description=spec.description,
            source=source,
        )
    except ValidationError as exc:
        out.add((), str(exc))
        return None
    if network is not None:
        _check_snaps(spec, scenario, network, out)
        if out.problems:
            return None
    if closed is not None:
        depot_nodes = np.array(
            [closed.places.locate(d.location) for d in fleet.depots], dtype=np.int64
        )
        for j, (inc_spec, inc, c) in enumerate(zip(specs, scenario.incidents, where, strict=True)):
            _check_demand(j, inc_spec, inc, scenario, closed, depot_nodes, c)
    return None if out.problems else scenario


def _check_snaps(
    spec: ScenarioFile, scenario: Scenario, network: RoadNetwork, out: _Collector
) -> None:
    """Every ``LAT,LON`` of the file within ``locations.max_snap_km`` of its road node, or
    (incidents, staging points, depots) reached by an access leg when ``access_legs``."""
    points: list[tuple[tuple[str | int, ...], str | None, bool]] = []
    for j, inc in enumerate(spec.incidents):
        points.append((("incidents", j, "location"), inc.location, True))
        points.append((("incidents", j, "staging_point"), inc.staging_point, True))
    if not isinstance(spec.fleet, str):
        for j, d in enumerate(spec.fleet.depots):
            points.append((("fleet", "depots", j, "location"), d.location, True))
    for j, site in enumerate(spec.checkpoints.sites):
        if site.node is None:
            points.append((("checkpoints", "sites", j, "location"), site.location, False))
    for path, text, can_access in points:
        if not isinstance(text, str):
            continue
        where = snap(network, text)
        if where.km > scenario.max_snap_km and not (can_access and scenario.access_legs):
            out.add(
                path,
                far_message(network, text, where, scenario.max_snap_km, access=can_access),
            )


# ---------------------------------------------------------------------------------------------
# Networks (cached per process: validation and run share one load)
# ---------------------------------------------------------------------------------------------


def _load_network_for(data: Mapping[str, Any], out: _Collector) -> RoadNetwork | None:
    raw = network_shorthand(data.get("network", "ordos"))
    if not isinstance(raw, dict):
        return None  # the schema phase reports it
    source, online = raw.get("source", "ordos"), raw.get("allow_online", False)
    if not isinstance(source, str):
        return None
    key = ("network",) if isinstance(data.get("network"), str) else ("network", "source")
    if source.startswith("place:") and online is not True:
        out.add(
            key,
            f"{source!r} queries OpenStreetMap online; set `network: {{source: {source!r}, "
            "allow_online: true}` to allow it, or use a local .osm/.graphml file",
        )
        return None
    try:
        return cached_network(source)
    except (NetworkError, ValidationError) as exc:
        out.add(key, str(exc))
        return None
    except (OSError, ValueError) as exc:  # a path the system refuses (too long, a NUL, a loop)
        out.add(key, f"cannot read the network {shown(source)}: {exc.args[-1]}")
        return None


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


@dataclass
class _Loaded:
    scenario: Scenario | None = None
    network: RoadNetwork | None = None
    spec: ScenarioFile | None = None
    problems: list[Problem] = field(default_factory=list)


def _resolve(path: str | os.PathLike[str]) -> _Loaded:
    path = Path(path)
    file = yamlio.display(path)
    data, marks, raw = yamlio.load_tree(path)
    out = _Collector(file, marks)
    for r in raw:
        out.problems.append(Problem(r.file, format_path(r.path), r.message, r.line, r.column))
    if data is None or out.problems:
        return _Loaded(problems=out.problems)
    return _resolve_data(data, out, path.name.removesuffix(".yaml").removesuffix(".yml"))


def _resolve_data(data: dict[str, Any], out: _Collector, stem: str) -> _Loaded:
    """Validate a file's data (``extends`` merged); ``stem`` names a scenario without ``name``."""
    network = _load_network_for(data, out)
    try:
        spec = validate_file_data(data, network)
    except PydanticValidationError as exc:
        messages = schema_messages(exc)
        for loc, message in messages:
            out.add(loc, message)
        _check_other_incidents(data, [loc for loc, _ in messages], stem, network, out)
        return _Loaded(network=network, problems=_sorted(out.problems))
    if out.problems:
        return _Loaded(network=network, problems=out.problems)
    name = spec.name or stem
    spec = spec.model_copy(update={"name": name, "extends": None})
    scenario = _build(spec, name, out.file, network, out)
    return _Loaded(scenario, network, spec, _sorted(out.problems))


class _Reindexed(_Collector):
    """Collects the problems of a scenario reduced to some incidents under their paths in the
    original file (``incidents[k]`` of the reduced list is ``incidents[keep[k]]``)."""

    def __init__(self, base: _Collector, keep: list[int]) -> None:
        super().__init__(base.file, {})
        self.marks, self.keep = base.marks, keep

    def add(self, path: Sequence[str | int], message: str) -> None:
        if len(path) >= 2 and path[0] == "incidents" and isinstance(path[1], int):
            path = ("incidents", self.keep[path[1]], *path[2:])
        super().add(path, message)


def _check_other_incidents(
    data: dict[str, Any],
    locs: list[tuple],
    stem: str,
    network: RoadNetwork | None,
    out: _Collector,
) -> None:
    """Report the whole-scenario problems of the incidents that passed the schema too.

    When every schema problem lies inside some incidents, the scenario without them is still
    checked (fleet, closures, demand against the vehicles in scope), so a planner sees every
    problem of the file at once instead of in two rounds.
    """
    incidents = data.get("incidents")
    if not isinstance(incidents, list) or not locs:
        return
    if any(len(loc) < 2 or loc[0] != "incidents" or not isinstance(loc[1], int) for loc in locs):
        return
    bad = {loc[1] for loc in locs}
    keep = [i for i in range(len(incidents)) if i not in bad]
    if not keep:
        return
    reduced = {**data, "incidents": [incidents[i] for i in keep]}
    try:
        spec = validate_file_data(reduced, network)
    except PydanticValidationError:
        return
    name = spec.name or stem
    sub = _Reindexed(out, keep)
    _build(spec.model_copy(update={"name": name, "extends": None}), name, out.file, network, sub)
    out.problems.extend(sub.problems)


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file, p.line or 0, p.column or 0))


def validate_file(path: str | os.PathLike[str]) -> list[Problem]:
    """Return every problem of a scenario file (an empty list when it is valid).

    Parameters
    ----------
    path
        The scenario file (YAML).

    Returns
    -------
    list of Problem
        Each with the file, line, key path and a message naming the bad value and the
        allowed values or close matches.
    """
    return _resolve(path).problems


def scenario_from_data(data: Mapping[str, Any], *, file: str, name: str) -> Scenario:
    """Validate a scenario file's data, as :func:`load_scenario` validates a file.

    Parameters
    ----------
    data
        What a scenario file holds once read: ``extends`` already merged and a relative
        network path already made absolute (:func:`sim.yamlio.load_tree` does both).
    file
        The file named in problems (and the scenario's ``source``).
    name
        The scenario's name when ``data`` has no ``name``.

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    ScenarioError
        Listing every problem of the data (key paths, bad values; no lines).
    """
    out = _Collector(file, {})
    loaded = _resolve_data(dict(data), out, name)
    if loaded.problems or loaded.scenario is None:
        raise ScenarioError(loaded.problems or [Problem(file, "", "cannot be loaded")])
    return loaded.scenario


def load_scenario_with_network(path: str | os.PathLike[str]) -> tuple[Scenario, RoadNetwork]:
    """Load a scenario file and the road network it was validated on.

    The network is returned *without* the scenario's closures and with the default speed
    profiles, ready for :func:`sim.experiment.run` (which applies both).

    Raises
    ------
    ScenarioError
        Listing every problem of the file.
    """
    loaded = _resolve(path)
    if loaded.problems or loaded.scenario is None or loaded.network is None:
        raise ScenarioError(loaded.problems or [Problem(str(path), "", "cannot be loaded")])
    return loaded.scenario, loaded.network


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Load and validate a scenario file.

    Parameters
    ----------
    path
        The scenario file (YAML). ``extends`` and relative paths resolve against it.

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    ScenarioError
        Listing every problem of the file (:func:`validate_file`).
    """
    return load_scenario_with_network(path)[0]
