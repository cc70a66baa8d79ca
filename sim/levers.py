"""Levers: what a plan may change in a scenario, what each unit costs, and the overlay it makes.

``fleetsim plan`` (:mod:`sim.optimise`) chooses how many units of each lever to buy. A
*levers file* lists them::

    levers:
      - dispatchers: {operator: "Central taxi pool", max_add: 30, cost: 1}    # per dispatcher
      - staging_lanes: {max_add: 8, cost: 5}           # per lane, at every staging point
      - vehicles: {class: coach, at: [dalad, uxin], max_add: 40, cost: 10}   # per vehicle
      - move_vehicles: {class: taxi, from: [dongsheng], to: [seats], max: 100, cost: 2}
      - green_channel: {checkpoints: all, cost: 20}     # once
      - over_request: {values: [1.2, 1.3], cost: 3}    # per step up the list
      - platform: {operator: "Central taxi pool", cost: 50}  # once per operator

Each lever is a change the scenario file language already expresses; nothing is modelled
here that the simulation does not model:

============== =====================================================================
lever          scenario change
============== =====================================================================
dispatchers    ``fleet.dispatchers.<operator>`` (an operator of the base fleet) or the
               ``dispatchers`` of its entry under ``fleet.operators``: + units
staging_lanes  ``staging.lanes`` (every staging point): + units
vehicles       per place of ``at``: the class's depot there (``fleet.depot_counts`` for a
               base depot, the ``vehicles`` of its entry under ``fleet.depots``) + units, or
               a new depot there called by ``operator`` (required when the class has no
               depot at the place)
move_vehicles  per pair (``from`` place, ``to`` place; ``seats`` = every seat of the
               network): units leave the class's depots at ``from`` and join its depot at
               ``to`` (a new depot called by the ``from`` depot's operator when none)
green_channel  ``checkpoints.green`` (``all``) or the ``green`` of the named entries under
               ``checkpoints.sites``: ``priority`` (default) or ``dedicated``
over_request   ``dispatch.over_request``: unit k is the k-th value above the scenario's
platform       ``fleet.callout.<operator>.mode: platform``
============== =====================================================================

A lever the scenario cannot take (an unknown operator, place or class, a green channel in a
scenario without checkpoints, an operator already on the platform, over-request values not
above the scenario's) is refused before anything is simulated, with the levers file, line,
key path and bad value (:func:`check_levers`).

A plan is a count of units per :class:`Option` (one decision of a lever: one operator, one
place, one pair). :meth:`Levers.overlay` turns it into a scenario-file fragment, and
:meth:`Levers.scenario` deep-merges that fragment over the scenario's file data
(:func:`sim.yamlio.deep_merge`, the merge of ``extends``) and validates the result as a file
is, so a ``plan.yaml`` that ``extends`` the scenario with the same fragment is the very same
scenario.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from sim import yamlio
from sim.errors import FleetsimError, ScenarioError
from sim.fields import (
    FileModel,
    NonNegFloat,
    OverRequest,
    PositiveInt,
    did_you_mean,
    fail,
    shown,
)
from sim.fleet import default_fleet
from sim.keypaths import ScenarioData, format_path
from sim.network import RoadNetwork
from sim.planning import resolve_depots
from sim.scenario import Problem, Scenario, scenario_from_data
from sim.schema import schema_messages
from sim.sites import candidate_sites

#: Lever kinds, in the order the levers file documents them.
KINDS: tuple[str, ...] = (
    "dispatchers",
    "staging_lanes",
    "vehicles",
    "move_vehicles",
    "green_channel",
    "over_request",
    "platform",
)
#: Greedy steps a lever's range is split into by default (``step`` overrides).
DEFAULT_STEPS = 6

Places = Annotated[list[str], Field(min_length=1)]


class _Lever(FileModel):
    cost: NonNegFloat = Field(description="Cost of one unit")


class DispatchersLever(_Lever):
    """More dispatchers for one operator (one unit = one dispatcher)."""

    operator: str
    max_add: PositiveInt
    step: PositiveInt | None = None


class StagingLanesLever(_Lever):
    """More registration lanes at every staging point (one unit = one lane)."""

    max_add: PositiveInt
    step: PositiveInt | None = None


class VehiclesLever(_Lever):
    """Vehicles of one class added (pre-positioned) at places (one unit = one vehicle)."""

    vehicle_class: str = Field(alias="class")
    at: Places
    max_add: PositiveInt
    step: PositiveInt | None = None
    operator: str | None = None


class MoveVehiclesLever(_Lever):
    """Vehicles of one class moved between places (one unit = one vehicle)."""

    vehicle_class: str = Field(alias="class")
    source: Places = Field(alias="from")
    to: Places
    max: PositiveInt
    step: PositiveInt | None = None


class GreenChannelLever(_Lever):
    """A green channel at the checkpoints (one unit, bought once)."""

    checkpoints: Literal["all"] | Places = "all"
    mode: Literal["priority", "dedicated"] = "priority"


class OverRequestLever(_Lever):
    """A larger over-request (unit k = the k-th value above the scenario's)."""

    values: Annotated[list[OverRequest], Field(min_length=1)]


class PlatformLever(_Lever):
    """Operators switched to platform call-out (one unit per operator)."""

    operator: str | Places


_MODELS: dict[str, type[_Lever]] = {
    "dispatchers": DispatchersLever,
    "staging_lanes": StagingLanesLever,
    "vehicles": VehiclesLever,
    "move_vehicles": MoveVehiclesLever,
    "green_channel": GreenChannelLever,
    "over_request": OverRequestLever,
    "platform": PlatformLever,
}


class LeverEntry(FileModel):
    """One item of ``levers``: a mapping with exactly one lever kind."""

    dispatchers: DispatchersLever | None = None
    staging_lanes: StagingLanesLever | None = None
    vehicles: VehiclesLever | None = None
    move_vehicles: MoveVehiclesLever | None = None
    green_channel: GreenChannelLever | None = None
    over_request: OverRequestLever | None = None
    platform: PlatformLever | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        if isinstance(data, dict) and len(data) != 1:
            raise fail(
                f"a lever is a mapping with one key, its kind ({', '.join(KINDS)}), got "
                f"{len(data)} keys: {', '.join(map(str, data)) or 'none'}"
            )
        return data


class LeversFile(FileModel):
    """A levers file."""

    levers: Annotated[list[LeverEntry], Field(min_length=1)]


@dataclass(frozen=True)
class Lever:
    """One lever of the file: its kind, its settings and where it was written."""

    kind: str
    spec: Any = field(repr=False)
    index: int
    line: int | None = None

    @property
    def label(self) -> str:
        """``levers[2].vehicles``: the key path of the lever in its file."""
        return f"levers[{self.index}].{self.kind}"


@dataclass(frozen=True)
class Option:
    """One decision of a lever: how many units of one change to buy.

    Attributes
    ----------
    lever
        Position of the lever in the file.
    kind
        The lever's kind.
    name
        What changes, e.g. ``dispatchers Central taxi pool`` or ``coach at Shulinzhao``.
    target
        The kind's target: an operator, ``(class, node)``, ``(class, from node, to node)``,
        a checkpoint selection, or ``None``.
    max_units, unit_cost, step
        At most this many units, each at this cost, bought ``step`` at a time by the greedy
        search.
    group_max
        Units the lever allows over all its options (``max_add`` of ``vehicles`` over all
        its places, ``max`` of ``move_vehicles`` over all its pairs).
    """

    lever: int
    kind: str
    name: str
    target: Any
    max_units: int
    unit_cost: float
    step: int
    group_max: int


#: A plan: units per option position.
Plan = Mapping[int, int]


def load_levers(path: str | os.PathLike[str]) -> tuple[list[Lever], str, str]:
    """Read and validate a levers file (its form; :func:`check_levers` checks the scenario).

    Parameters
    ----------
    path
        The YAML file.

    Returns
    -------
    tuple
        The levers in file order, the file's display name, and its text.

    Raises
    ------
    ScenarioError
        Every problem at once, each with the file, line, key path and bad value.
    """
    path = Path(path)
    file = yamlio.display(path)
    data, marks, raw = yamlio.read_yaml(path)
    problems = [Problem(file, format_path(r.path), r.message, r.line, r.column) for r in raw]
    if problems:
        raise ScenarioError(problems)

    def at(where: tuple[str | int, ...]) -> tuple[int | None, int | None]:
        for k in range(len(where), -1, -1):
            mark = marks.get(where[:k])
            if mark is not None:
                return mark.line, mark.column
        return None, None

    try:
        parsed = LeversFile.model_validate(data)
    except PydanticValidationError as exc:
        for loc, message in schema_messages(exc):
            problems.append(Problem(file, format_path(loc), message, *at(loc)))
        raise ScenarioError(sorted(problems, key=lambda p: (p.line or 0, p.column or 0))) from None
    levers = []
    for i, entry in enumerate(parsed.levers):
        kind = next(k for k in KINDS if getattr(entry, k) is not None)
        levers.append(Lever(kind, getattr(entry, kind), i, at(("levers", i))[0]))
    return levers, file, path.read_text(encoding="utf-8")


def _step(spec: Any, maximum: int) -> int:
    step = getattr(spec, "step", None)
    return min(maximum, step or max(1, math.ceil(maximum / DEFAULT_STEPS)))


@dataclass
class Levers:
    """The levers of a file checked against one scenario: its options, and overlays of plans.

    Built by :func:`check_levers`.
    """

    base: ScenarioData
    levers: list[Lever]
    options: list[Option]
    file: str
    text: str = field(default="", repr=False)
    place_names: dict[int, str] = field(default_factory=dict, repr=False)
    depots: tuple[Any, ...] = field(default=(), repr=False)
    depot_nodes: Any = field(default=None, repr=False)

    def cost(self, plan: Plan) -> float:
        """The cost of a plan (units times unit cost, summed)."""
        return float(sum(self.options[i].unit_cost * n for i, n in plan.items()))

    def changes(self, plan: Plan) -> list[dict[str, Any]]:
        """One row per option bought: lever, change, units, cost."""
        rows = []
        for i, n in sorted(plan.items()):
            if n > 0:
                o = self.options[i]
                rows.append(
                    {
                        "lever": f"levers[{o.lever}].{o.kind}",
                        "change": self.describe(i, n),
                        "units": n,
                        "cost": o.unit_cost * n,
                    }
                )
        return rows

    def describe(self, i: int, n: int) -> str:
        """One option bought ``n`` times, in words."""
        o = self.options[i]
        base = self.base.view
        if o.kind == "dispatchers":
            now = base["fleet"]["dispatchers"][o.target]
            return f"{o.target}: {now} -> {now + n} dispatchers"
        if o.kind == "staging_lanes":
            now = self.base.value(("staging", "lanes"))
            return f"staging lanes: {now} -> {now + n}"
        if o.kind == "vehicles":
            k, node = o.target
            return f"+{n} {k} at {self.place_names[node]}"
        if o.kind == "move_vehicles":
            k, a, b = o.target
            return f"{n} {k} moved {self.place_names[a]} -> {self.place_names[b]}"
        if o.kind == "green_channel":
            mode, sites = o.target
            what = "every checkpoint" if sites == "all" else ", ".join(sites)
            return f"green channel ({mode}) at {what}"
        if o.kind == "over_request":
            now = self.base.value(("dispatch", "over_request"))
            return f"over-request: {now} -> {o.target[n - 1]}"
        return f"{o.target}: call-out by platform"

    # -----------------------------------------------------------------------------------------
    # Overlays
    # -----------------------------------------------------------------------------------------

    def overlay(self, plan: Plan) -> dict[str, Any]:
        """The scenario-file fragment of a plan (empty for the empty plan).

        Deep-merged over the scenario's file data (as ``extends`` merges) it gives the planned
        scenario: mappings merge key by key; a list it writes (``fleet.depots``,
        ``fleet.operators``, ``checkpoints.sites``) is written whole.
        """
        data, view = self.base.data, self.base.view
        fleet_data = data.get("fleet") if isinstance(data.get("fleet"), dict) else {}
        out: dict[str, Any] = {}
        fleet: dict[str, Any] = {}
        depot_add: dict[tuple[str, int], int] = {}
        depot_operator: dict[tuple[str, int], str] = {}
        for i, n in sorted(plan.items()):
            if n <= 0:
                continue
            o = self.options[i]
            if o.kind == "dispatchers":
                own = [op.get("name") for op in fleet_data.get("operators", [])]
                if o.target in own:
                    ops = fleet.setdefault("operators", copy.deepcopy(fleet_data["operators"]))
                    entry = ops[own.index(o.target)]
                    entry["dispatchers"] = entry.get("dispatchers", 2) + n
                else:
                    disp = fleet.setdefault("dispatchers", {})
                    now = disp.get(o.target, view["fleet"]["dispatchers"][o.target])
                    disp[o.target] = now + n
            elif o.kind == "staging_lanes":
                out.setdefault("staging", {})["lanes"] = self.base.value(("staging", "lanes")) + n
            elif o.kind == "vehicles":
                depot_add[o.target] = depot_add.get(o.target, 0) + n
                spec = self.levers[o.lever].spec
                if spec.operator:
                    depot_operator[o.target] = spec.operator
            elif o.kind == "move_vehicles":
                k, a, b = o.target
                depot_add[(k, a)] = depot_add.get((k, a), 0) - n
                depot_add[(k, b)] = depot_add.get((k, b), 0) + n
                depot_operator.setdefault((k, b), self._operator_at(k, a))
            elif o.kind == "green_channel":
                mode, sites = o.target
                cps = out.setdefault("checkpoints", {})
                listed = (data.get("checkpoints") or {}).get("sites") or []
                if sites == "all":
                    cps["green"] = mode
                    if any("green" in s for s in listed):
                        cps["sites"] = [{**s, "green": mode} if "green" in s else s for s in listed]
                else:
                    cps["sites"] = [
                        {**s, "green": mode} if s.get("name") in sites else s
                        for s in cps.get("sites", listed)
                    ]
            elif o.kind == "over_request":
                out.setdefault("dispatch", {})["over_request"] = o.target[n - 1]
            elif o.kind == "platform":
                fleet.setdefault("callout", {})[o.target] = {"mode": "platform"}
        if depot_add:
            self._depots(fleet, fleet_data, depot_add, depot_operator)
        if fleet:
            out["fleet"] = fleet
        return out

    def _depots_at(self, k: str, node: int) -> list[int]:
        """Positions (in the scenario's fleet) of the class's depots at ``node``."""
        return [
            j
            for j, d in enumerate(self.depots)
            if d.vehicle_class == k and int(self.depot_nodes[j]) == node
        ]

    def _operator_at(self, k: str, node: int) -> str:
        here = self._depots_at(k, node)
        return self.depots[here[0]].operator

    def _depots(
        self,
        fleet: dict[str, Any],
        fleet_data: Mapping[str, Any],
        add: Mapping[tuple[str, int], int],
        operators: Mapping[tuple[str, int], str],
    ) -> None:
        """Write depot count changes: base depots by name, own depots in their entry, new
        depots appended to ``fleet.depots``."""
        own = copy.deepcopy(list(fleet_data.get("depots", [])))
        own_names = {
            f"{d.get('name') or d.get('location')} {k}": (j, k)
            for j, d in enumerate(own)
            for k in d.get("vehicles", {})
        }
        counts: dict[str, int] = {}
        new: list[dict[str, Any]] = []
        touched = False
        for (k, node), n in sorted(add.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            if n == 0:
                continue
            here = self._depots_at(k, node)
            if not here:
                name = f"plan {self.place_names[node]}"
                new.append(
                    {
                        "name": name,
                        "location": self.place_names[node],
                        "vehicles": {k: n},
                        "operators": {k: operators[(k, node)]},
                    }
                )
                continue
            # A move takes vehicles from the depots at the place in turn, the first first.
            left = n
            for pos, j in enumerate(here):
                d = self.depots[j]
                delta = left if n > 0 or pos == len(here) - 1 else max(left, -d.count)
                if d.name in own_names:
                    e, kk = own_names[d.name]
                    own[e]["vehicles"][kk] = d.count + delta
                    touched = True
                else:
                    counts[d.name] = d.count + delta
                left -= delta
                if left == 0:
                    break
        if counts:
            fleet["depot_counts"] = counts
        if new or touched:
            fleet["depots"] = own + new

    def data(self, plan: Plan) -> dict[str, Any]:
        """The planned scenario's file data: the overlay deep-merged over the scenario's."""
        return yamlio.deep_merge(self.base.data, self.overlay(plan))

    def scenario(self, plan: Plan) -> Scenario:
        """The planned scenario, validated as a file is.

        Raises
        ------
        ScenarioError
            When the planned scenario is not valid (e.g. a depot moved below zero).
        """
        return scenario_from_data(self.data(plan), file=self.base.file, name=self.base.name)


def _places(
    network: RoadNetwork, names: Sequence[str], where: str, add: Any
) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for j, text in enumerate(names):
        if text == "seats":
            out += [(s.node, s.name) for s in candidate_sites(network, "seats")]
            continue
        try:
            node = network.places.locate(text)
        except FleetsimError as exc:
            add(f"{where}[{j}]", f"{exc}")
            continue
        out.append((node, network.places.label(node)))
    seen: dict[int, str] = {}
    for node, name in out:
        seen.setdefault(node, name)
    return list(seen.items())


def check_levers(
    scenario: Scenario,
    network: RoadNetwork,
    levers: Sequence[Lever],
    file: str,
    text: str = "",
) -> Levers:
    """Check the levers against the scenario and list the options they open.

    Parameters
    ----------
    scenario
        The scenario to plan for.
    network
        Its road network (places, seats).
    levers
        From :func:`load_levers`.
    file, text
        The levers file's display name and text.

    Returns
    -------
    Levers

    Raises
    ------
    ScenarioError
        Every lever the scenario cannot take, each with the file, line, key path, bad value
        and why.
    """
    base = ScenarioData.of(scenario)
    view = base.view
    fleet = scenario.fleet
    depot_nodes = resolve_depots(network, fleet)
    problems: list[Problem] = []
    options: list[Option] = []
    places: dict[int, str] = {}
    ops = {o.name: o for o in fleet.operators}
    base_data = base.data.get("fleet") if isinstance(base.data.get("fleet"), dict) else {}
    own_ops = {op.get("name") for op in base_data.get("operators", [])}
    from_default = base_data.get("base", "default") == "default"
    base_ops = {o.name for o in default_fleet().operators} if from_default else set()

    def has_depot(k: str, node: int) -> bool:
        return any(
            d.vehicle_class == k and int(depot_nodes[j]) == node for j, d in enumerate(fleet.depots)
        )

    for lever in levers:
        s, label = lever.spec, lever.label

        def add(key: str, message: str, lever: Lever = lever) -> None:
            problems.append(Problem(file, f"{lever.label}.{key}", message, lever.line))

        def operator(name: str, key: str = "operator") -> bool:
            if name not in ops:
                add(
                    key,
                    f"no operator {name!r} in the scenario's fleet{did_you_mean(name, list(ops))}",
                )
                return False
            return True

        def vehicle_class(k: str) -> bool:
            if k not in fleet.classes:
                add("class", f"unknown class {k!r}{did_you_mean(k, list(fleet.classes))}")
                return False
            return True

        if lever.kind == "dispatchers":
            if operator(s.operator):
                if s.operator not in own_ops and s.operator not in base_ops:
                    add(
                        "operator",
                        f"operator {s.operator!r} is made by a depot of fleet.depots; define it "
                        "under fleet.operators to vary its dispatchers",
                    )
                else:
                    step = _step(s, s.max_add)
                    options.append(
                        Option(
                            lever.index,
                            "dispatchers",
                            f"dispatchers {s.operator}",
                            s.operator,
                            s.max_add,
                            s.cost,
                            step,
                            s.max_add,
                        )
                    )
        elif lever.kind == "staging_lanes":
            options.append(
                Option(
                    lever.index,
                    "staging_lanes",
                    "staging lanes",
                    None,
                    s.max_add,
                    s.cost,
                    _step(s, s.max_add),
                    s.max_add,
                )
            )
        elif lever.kind == "vehicles":
            if vehicle_class(s.vehicle_class):
                if s.operator is not None and operator(s.operator):
                    if ops[s.operator].vehicle_class != s.vehicle_class:
                        add(
                            "operator",
                            f"operator {s.operator!r} runs "
                            f"{ops[s.operator].vehicle_class}, not {s.vehicle_class}",
                        )
                for node, name in _places(network, s.at, "at", add):
                    places[node] = name
                    if not has_depot(s.vehicle_class, node) and s.operator is None:
                        add(
                            "at",
                            f"no {s.vehicle_class} depot at {name!r}: give `operator:` "
                            "(the operator that would call the vehicles added there)",
                        )
                        continue
                    options.append(
                        Option(
                            lever.index,
                            "vehicles",
                            f"{s.vehicle_class} at {name}",
                            (s.vehicle_class, node),
                            s.max_add,
                            s.cost,
                            _step(s, s.max_add),
                            s.max_add,
                        )
                    )
        elif lever.kind == "move_vehicles":
            if vehicle_class(s.vehicle_class):
                k = s.vehicle_class
                sources = _places(network, s.source, "from", add)
                targets = _places(network, s.to, "to", add)
                for node, name in sources:
                    places[node] = name
                    here = sum(
                        d.count
                        for j, d in enumerate(fleet.depots)
                        if d.vehicle_class == k and int(depot_nodes[j]) == node
                    )
                    if here == 0:
                        add("from", f"no {k} vehicle at {name!r} to move")
                        continue
                    for b, bname in targets:
                        if b == node:
                            continue
                        places[b] = bname
                        cap = min(s.max, here)
                        options.append(
                            Option(
                                lever.index,
                                "move_vehicles",
                                f"{k} {name} -> {bname}",
                                (k, node, b),
                                cap,
                                s.cost,
                                _step(s, cap),
                                s.max,
                            )
                        )
        elif lever.kind == "green_channel":
            listed = [c.name for c in scenario.checkpoints]
            if not scenario.checkpoints:
                add(
                    "checkpoints",
                    "the scenario has no checkpoints (checkpoints.count 0 and no "
                    "checkpoints.sites): a green channel would change nothing",
                )
            elif s.checkpoints != "all":
                sites = [d.get("name") for d in view["checkpoints"].get("sites", [])]
                bad = [c for c in s.checkpoints if c not in sites]
                for c in bad:
                    add(
                        "checkpoints",
                        f"no checkpoint {c!r} under checkpoints.sites"
                        f"{did_you_mean(c, [x for x in sites if x])}",
                    )
                if not bad:
                    options.append(
                        Option(
                            lever.index,
                            "green_channel",
                            "green channel",
                            (s.mode, tuple(s.checkpoints)),
                            1,
                            s.cost,
                            1,
                            1,
                        )
                    )
            else:
                del listed
                options.append(
                    Option(
                        lever.index,
                        "green_channel",
                        "green channel",
                        (s.mode, "all"),
                        1,
                        s.cost,
                        1,
                        1,
                    )
                )
        elif lever.kind == "over_request":
            now = scenario.over_request
            values = sorted(set(s.values))
            low = [v for v in values if v <= now]
            if low:
                add(
                    "values",
                    f"{shown(low[0])} is not above the scenario's over-request "
                    f"({now:g}); list values above it",
                )
            else:
                options.append(
                    Option(
                        lever.index,
                        "over_request",
                        "over-request",
                        tuple(values),
                        len(values),
                        s.cost,
                        1,
                        len(values),
                    )
                )
        elif lever.kind == "platform":
            names = [s.operator] if isinstance(s.operator, str) else list(s.operator)
            for name in names:
                if operator(name):
                    if ops[name].callout.mode == "platform":
                        add("operator", f"operator {name!r} already calls out by platform")
                        continue
                    options.append(
                        Option(lever.index, "platform", f"platform {name}", name, 1, s.cost, 1, 1)
                    )
        del label
    if problems:
        raise ScenarioError(problems)
    return Levers(base, list(levers), options, file, text, places, tuple(fleet.depots), depot_nodes)
