"""The scenario file language: field types, pydantic models, JSON Schema, error messages.

Private helper of :mod:`sim.scenario`, which owns the runtime dataclasses, the build from a
validated file to a :class:`~sim.scenario.Scenario`, and the public API. This module only
describes what a file may say: every mapping rejects unknown keys, every field names its
type and range, and :func:`schema_messages` turns pydantic's errors into one planner-readable
message per problem (the bad value, the allowed values or the closest matches).

Place names are checked against the road network passed in the validation context
(``context={"network": net}``), so unknown places are reported together with every other
problem of the file.
"""

from __future__ import annotations

import difflib
import math
import re
import types
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from sim.dists import Dist
from sim.errors import NetworkError, ValidationError
from sim.network import RoadNetwork
from sim.vehicles import VEHICLE_CLASSES

# Runtime defaults, shared by the dataclasses and the file language.
DEFAULT_ALERT = Dist.lognormal(5.0, 0.5)
DEFAULT_TRIP_MEDIAN, DEFAULT_TRIP_SIGMA = 1.05, 0.10
DEFAULT_CHECKPOINT_SERVICE = Dist.lognormal(1.0, 0.4)
DEFAULT_STAGING_SERVICE = Dist.lognormal(1.0, 0.3)

#: The three G65 (Baotou–Maoming) mainline toll stations removed on 2022-06-30 (founding
#: article), by their ``fleetsim:toll`` id on the embedded network: Chinese name.
TOLL_STATIONS: dict[str, str] = {
    "guannianfang": "关碾房",
    "erzihao": "耳字壕",
    "dongsheng_west": "东胜西",
}
#: Toll plaza assumptions (ASSUMPTION, no survey): a mainline plaza of a closed toll system
#: where every vehicle stops to take or hand in a ticket and pay; 8 lanes (both directions);
#: service about 24 s (lognormal median 0.4 min, sigma 0.4), faster than a health-code check.
DEFAULT_TOLL_LANES = 8
DEFAULT_TOLL_SERVICE = Dist.lognormal(0.4, 0.4)


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("fleetsim", message)


def did_you_mean(value: object, options: Sequence[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest ``options`` to ``value``, or ``""``."""
    close = difflib.get_close_matches(str(value), [str(o) for o in options], n=3, cutoff=0.5)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


# ---------------------------------------------------------------------------------------------
# Field types of the file language
# ---------------------------------------------------------------------------------------------


def _check_class(value: str) -> str:
    if value not in VEHICLE_CLASSES:
        raise _fail(
            f"unknown vehicle class {value!r}{did_you_mean(value, VEHICLE_CLASSES)}; "
            f"classes: {', '.join(VEHICLE_CLASSES)}"
        )
    return value


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise _fail(f"{what} must be a finite number >= 0, got {value!r}")
    return float(value)


_DIST_FORMS = (
    "a number (fixed), {fixed: X}, {lognormal: {median: M, sigma: S}}, "
    "{exponential: {mean: M}} or {uniform: {low: A, high: B}}"
)
_DIST_KEYS = {
    "fixed": (),
    "lognormal": ("median", "sigma"),
    "exponential": ("mean",),
    "uniform": ("low", "high"),
}


def _parse_dist(value: Any) -> Dist:
    """A distribution: a number (fixed) or a one-key mapping naming the kind."""
    if isinstance(value, Dist):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Dist.fixed(_number(value, "a fixed value"))
    if not isinstance(value, dict) or len(value) != 1:
        raise _fail(f"a distribution is {_DIST_FORMS}; got {value!r}")
    ((kind, params),) = value.items()
    if kind not in _DIST_KEYS:
        raise _fail(
            f"unknown distribution {kind!r}{did_you_mean(kind, list(_DIST_KEYS))}; "
            f"a distribution is {_DIST_FORMS}"
        )
    if kind == "fixed":
        return Dist.fixed(_number(params, "fixed"))
    keys = _DIST_KEYS[kind]
    if not isinstance(params, dict):
        raise _fail(f"{kind} needs a mapping {{{', '.join(keys)}}}, got {params!r}")
    unknown = [k for k in params if k not in keys]
    missing = [k for k in keys if k not in params]
    if unknown or missing:
        bits = [f"unknown key {k!r}{did_you_mean(k, keys)}" for k in unknown]
        bits += [f"missing key {k!r}" for k in missing]
        raise _fail(f"{kind}: {'; '.join(bits)}; {kind} takes {', '.join(keys)}")
    p = {k: _number(params[k], f"{kind}.{k}") for k in keys}
    if kind == "lognormal":
        return Dist.lognormal(p["median"], p["sigma"])
    if kind == "exponential":
        return Dist.exponential(p["mean"])
    if p["high"] < p["low"]:
        raise _fail(f"uniform: `high` ({p['high']:g}) must be >= `low` ({p['low']:g})")
    return Dist("uniform", (p["low"] + p["high"]) / 2, spread=(p["high"] - p["low"]) / 2)


_NUM = {"type": "number", "minimum": 0}
_DIST_SCHEMA = {
    "description": "A distribution (minutes, or a factor): " + _DIST_FORMS,
    "anyOf": [
        _NUM,
        {
            "type": "object",
            "properties": {"fixed": _NUM},
            "required": ["fixed"],
            "additionalProperties": False,
        },
        *(
            {
                "type": "object",
                "properties": {
                    kind: {
                        "type": "object",
                        "properties": dict.fromkeys(keys, _NUM),
                        "required": list(keys),
                        "additionalProperties": False,
                    }
                },
                "required": [kind],
                "additionalProperties": False,
            }
            for kind, keys in _DIST_KEYS.items()
            if keys
        ),
    ],
}


def _parse_demand(value: Any) -> int | str:
    if value == "all" and isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        hint = did_you_mean(value, ["all"]) if isinstance(value, str) else ""
        raise _fail(f"a demand is a count (integer >= 0) or 'all'{hint}, got {value!r}")
    if value < 0:
        raise _fail(f"a demand must be >= 0, got {value!r}")
    return value


_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def _parse_start(value: Any) -> float:
    """Start time of day: ``"22:30"`` or an hour in [0, 24) (``22.5``)."""
    if isinstance(value, str):
        m = _TIME.match(value)
        if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
            return int(m.group(1)) + int(m.group(2)) / 60.0
        raise _fail(
            f'a start time is "HH:MM" (00:00 to 23:59) or an hour in [0, 24), got {value!r}'
        )
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 24:
        raise _fail(
            f'a start time is "HH:MM" (00:00 to 23:59) or an hour in [0, 24), got {value!r}'
        )
    return float(value)


def _network_of(info: ValidationInfo) -> RoadNetwork | None:
    ctx = info.context
    return ctx.get("network") if isinstance(ctx, dict) else None


def _check_location(value: str, info: ValidationInfo) -> str:
    network = _network_of(info)
    if network is not None:
        try:
            network.locate(value)
        except (NetworkError, ValidationError) as exc:
            raise _fail(str(exc)) from None
    return value


def _check_node(value: int, info: ValidationInfo) -> int:
    network = _network_of(info)
    if network is not None:
        try:
            network.index_of(value)
        except NetworkError as exc:
            raise _fail(str(exc)) from None
    return value


def _check_incident_location(value: str, info: ValidationInfo) -> str:
    _check_location(value, info)
    network = _network_of(info)
    if network is not None:
        node = network.locate(value)
        if str(network.zone[node]) == "outside":
            raise _fail(
                f"{value!r} lies outside the region: its nearest road node "
                f"{int(network.node_ids[node])} is in zone 'outside' (the tiers apply only "
                f"inside it); zones: {', '.join(sorted(set(network.zone.tolist()) - {'outside'}))}"
            )
    return value


def _class_weights(value: Any) -> Any:
    """``[coach, bus]`` is shorthand for ``{coach: null, bus: null}`` (shares by capacity)."""
    if isinstance(value, list):
        return dict.fromkeys(value)
    return value


VehicleClass = Annotated[str, AfterValidator(_check_class)]
Tier = Literal["central", "banner", "region"]
ScopeName = Literal["central", "banner", "region"]
Green = Literal["none", "priority", "dedicated"]
Probability = Annotated[float, Field(ge=0, le=1)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0)]
PositiveInt = Annotated[int, Field(ge=1)]


def dist_to_yaml(dist: Dist) -> float | dict[str, Any]:
    """The file-language form of a distribution (the inverse of the parser)."""
    if dist.kind == "fixed":
        return dist.value
    if dist.kind == "lognormal":
        return {"lognormal": {"median": dist.value, "sigma": dist.sigma}}
    if dist.kind == "exponential":
        return {"exponential": {"mean": dist.value}}
    low, high = _uniform_bounds(dist.value, dist.spread)
    return {"uniform": {"low": low, "high": high}}


def _uniform_bounds(value: float, spread: float) -> tuple[float, float]:
    """``low`` and ``high`` that parse back to exactly ``value`` and ``spread``, if any.

    ``value - spread`` and ``value + spread`` can be a rounding away from bounds that give
    ``value`` and ``spread`` back (such bounds always exist for a distribution read from a
    file); the neighbouring floats are tried too, and the shortest exact pair is kept.
    """

    def near(x: float) -> list[float]:
        out = [x]
        down = up = x
        for _ in range(3):
            down, up = math.nextafter(down, -math.inf), math.nextafter(up, math.inf)
            out += [down, up]
        return out

    exact = [
        (low, high)
        for low in near(value - spread)
        for high in near(value + spread)
        if (low + high) / 2 == value and (high - low) / 2 == spread
    ]
    if not exact:
        return value - spread, value + spread
    return min(exact, key=lambda b: len(repr(b[0])) + len(repr(b[1])))


DistField = Annotated[
    Dist,
    BeforeValidator(_parse_dist),
    PlainSerializer(dist_to_yaml),
    WithJsonSchema(_DIST_SCHEMA, mode="validation"),
]
DemandValue = Annotated[
    Any,
    AfterValidator(_parse_demand),
    WithJsonSchema(
        {"anyOf": [{"type": "integer", "minimum": 0}, {"const": "all"}]}, mode="validation"
    ),
]
StartTime = Annotated[
    Any,
    AfterValidator(_parse_start),
    WithJsonSchema(
        {
            "description": 'Start time of day, "HH:MM" or an hour in [0, 24)',
            "anyOf": [
                {"type": "string", "pattern": r"^\d{1,2}:\d{2}$"},
                {"type": "number", "minimum": 0, "exclusiveMaximum": 24},
            ],
        },
        mode="validation",
    ),
]
Location = Annotated[
    str,
    AfterValidator(_check_location),
    Field(description='A place name of the network or "LAT,LON"'),
]
NodeId = Annotated[int, AfterValidator(_check_node)]
IncidentLocation = Annotated[
    str,
    AfterValidator(_check_incident_location),
    Field(description='A place name of the network or "LAT,LON", inside the region'),
]
ClassWeights = Annotated[dict[VehicleClass, PositiveFloat | None], BeforeValidator(_class_weights)]


# ---------------------------------------------------------------------------------------------
# The file language (pydantic models; every mapping rejects unknown keys)
# ---------------------------------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, arbitrary_types_allowed=True, frozen=True
    )


class NetworkSpec(_Spec):
    """Road network: ``ordos`` (embedded), an OSM/GraphML file, or ``place:<name>`` (online)."""

    source: str = Field(
        "ordos",
        description="'ordos', a .osm/.osm.bz2/.osm.xml/.graphml file (relative to the scenario "
        "file), or 'place:<name>' (online OSMnx query; needs allow_online)",
    )
    allow_online: bool = Field(False, description="Allow a 'place:' source to query OSM online")


class SpeedSpec(_Spec):
    """Speed caps of a class (km/h) and a factor on the resulting speed."""

    expressway_kmh: PositiveFloat | None = None
    other_kmh: Annotated[float, Field(gt=0)] | None = Field(
        None, description="Cap on other roads; .inf for none"
    )
    factor: PositiveFloat | None = None


class ClassSpec(_Spec):
    """Overrides of one vehicle class's parameters (:class:`sim.fleet.ClassParams`)."""

    availability: Probability | None = None
    reach_day: Probability | None = None
    reach_night: Probability | None = None
    accept: Probability | None = None
    call: DistField | None = None
    mobilisation_day: DistField | None = None
    mobilisation_night: DistField | None = None
    mobilisation_factor: PositiveFloat | None = Field(
        None, description="Multiply the day and night mobilisation delays (1.2 = 20 % slower)"
    )
    capacity: PositiveFloat | None = None
    capacity_unit: Literal["persons", "tonnes"] | None = None
    speed: SpeedSpec | None = None


class OperatorSpec(_Spec):
    """A dispatching company: name, the class it runs, its dispatchers."""

    name: str
    vehicle_class: VehicleClass
    dispatchers: PositiveInt = 2


class DepotSpec(_Spec):
    """A depot: where, how many vehicles of each class, which operator calls them."""

    name: str | None = Field(None, description="Default: the location")
    location: Location
    vehicles: dict[VehicleClass, Count] = Field(description="Vehicles per class")
    operators: dict[VehicleClass, str] = Field(
        default_factory=dict,
        description="Operator name per class; default: an own operator '<depot> <class>'",
    )
    dispatchers: PositiveInt = Field(2, description="Dispatchers of the depot's own operators")


class FleetSpec(_Spec):
    """The reserve fleet: the default 2,010 vehicles (modified), or your own depots."""

    base: Literal["default", "none"] = Field(
        "default", description="Start from the default fleet, or from no vehicle at all"
    )
    scale: NonNegFloat = Field(1.0, description="Multiply every base class total")
    totals: dict[VehicleClass, Count] = Field(
        default_factory=dict,
        description="Set a class total, spread over its base depots in proportion",
    )
    depot_counts: dict[str, Count] = Field(
        default_factory=dict, description="Set the count of a base depot by name"
    )
    dispatchers: dict[str, PositiveInt] = Field(
        default_factory=dict, description="Set the dispatchers of an operator by name"
    )
    operators: list[OperatorSpec] = Field(default_factory=list)
    depots: list[DepotSpec] = Field(default_factory=list)


class WeatherSpec(_Spec):
    """Weather: a speed factor on every road, and the spread of trip times."""

    speed_factor: PositiveFloat = Field(1.0, description="Multiply every speed (0.6 = snow)")
    trip_time_spread: NonNegFloat = Field(
        DEFAULT_TRIP_SIGMA, description="Lognormal sigma of the random trip-time factor"
    )
    trip_time_median: PositiveFloat = Field(
        DEFAULT_TRIP_MEDIAN, description="Median of the trip-time factor"
    )


class DispatchSpec(_Spec):
    """The command centre: alert delay and over-request factor."""

    alert: DistField = Field(DEFAULT_ALERT, description="Report to activation, minutes")
    over_request: Annotated[float, Field(ge=1, allow_inf_nan=False)] = Field(
        1.1, description="Call ceil(demand x over_request) vehicles at once"
    )


class ClosureSpec(_Spec):
    """A closure: ``road`` (optionally ``between`` two places), or ``near`` + ``radius_km``."""

    name: str | None = None
    road: str | None = Field(None, description="A road ref, e.g. G18")
    between: Annotated[list[Location], Field(min_length=2, max_length=2)] | None = None
    near: Location | None = None
    radius_km: PositiveFloat | None = None

    @model_validator(mode="after")
    def _one_form(self) -> ClosureSpec:
        if (self.road is None) == (self.near is None):
            raise _fail(
                "a closure is either {road: REF} / {road: REF, between: [A, B]} or "
                "{near: PLACE, radius_km: R}"
            )
        if self.near is not None and self.radius_km is None:
            raise _fail("a `near` closure needs `radius_km`")
        if self.road is not None and self.radius_km is not None:
            raise _fail("`radius_km` goes with `near`, not with `road`")
        return self


class SiteSpec(_Spec):
    """One checkpoint of an explicit list; unset fields take the section's values."""

    name: str | None = None
    location: Location
    node: NodeId | None = Field(
        None,
        description="Graph node id of the site; takes precedence over `location` (fleetsim "
        "writes it into scenario.resolved.yaml so that a site never moves to a coincident node "
        "of another road)",
    )
    kind: Literal["checkpoint", "toll"] = Field(
        "checkpoint", description="A label: toll plazas are drawn as such on the map"
    )
    lanes: PositiveInt | None = None
    service: DistField | None = None
    background_per_min: NonNegFloat | None = None
    background_service: DistField | None = None
    green: Green | None = None
    green_lanes: PositiveInt | None = None


class CheckpointsSpec(_Spec):
    """Road checkpoints: ``count`` placed by a rule, plus an explicit list of ``sites``."""

    count: Count = Field(0, description="Checkpoints placed by `placement`")
    placement: Literal["spread"] = Field(
        "spread",
        description="spread: evenly by road length over the region's road nodes (not named "
        "places, not outside the region, not central unless include_central), deterministic",
    )
    include_central: bool = False
    lanes: PositiveInt = 1
    service: DistField = Field(DEFAULT_CHECKPOINT_SERVICE, description="Minutes per vehicle")
    background_per_min: NonNegFloat = Field(0.0, description="Ordinary traffic, vehicles/min")
    background_service: DistField | None = Field(None, description="Default: `service`")
    green: Green = "none"
    green_lanes: PositiveInt = 1
    sites: list[SiteSpec] = Field(default_factory=list)


class TollsSpec(_Spec):
    """The G65 mainline toll plazas 关碾房, 耳字壕 and 东胜西 (removed 2022-06-30)."""

    enabled: bool = Field(False, description="Put the plazas back (they are off by default)")
    stations: list[Literal["guannianfang", "erzihao", "dongsheng_west"]] = Field(
        default_factory=lambda: list(TOLL_STATIONS)
    )
    lanes: PositiveInt = DEFAULT_TOLL_LANES
    service: DistField = DEFAULT_TOLL_SERVICE
    background_per_min: NonNegFloat = 0.0
    background_service: DistField | None = None
    green: Green = "none"
    green_lanes: PositiveInt = 1


class StagingFileSpec(_Spec):
    """Registration at the staging point."""

    lanes: PositiveInt = 8
    service: DistField = DEFAULT_STAGING_SERVICE


class RulesSpec(_Spec):
    """Tier rules; deadlines and scopes merge over the ``ordos-123`` defaults."""

    name: str = "ordos-123"
    deadlines_min: dict[Tier, PositiveFloat] = Field(default_factory=dict)
    banner_radius_km: NonNegFloat = 15.0
    scope: dict[Tier, ScopeName] = Field(default_factory=dict)
    success_fraction: Annotated[float, Field(gt=0, le=1)] = 1.0


class MoveSpec(_Spec):
    """People or tonnes to move, converted to vehicles by class capacity."""

    people: Count | None = None
    tonnes: NonNegFloat | None = None
    people_by: ClassWeights = Field(
        default_factory=lambda: {"coach": None, "bus": None},
        description="Classes carrying the people: a list (shares by fleet capacity) or "
        "{class: weight}",
    )
    tonnes_by: ClassWeights = Field(default_factory=lambda: {"freight": None})


class IncidentSpec(_Spec):
    """An incident: location, demand, and optional tier, deadline, scope, staging point."""

    name: str | None = Field(None, description="Default: the location")
    location: IncidentLocation
    staging_point: Location | None = Field(None, description="Default: the location")
    demand: dict[VehicleClass, DemandValue] = Field(default_factory=dict)
    move: MoveSpec | None = None
    tier: Literal["auto", "central", "banner", "region"] = "auto"
    deadline_min: PositiveFloat | None = None
    scope: ScopeName | None = None

    @model_validator(mode="after")
    def _has_demand(self) -> IncidentSpec:
        moving = self.move is not None and (self.move.people or self.move.tonnes)
        if not any(v == "all" or v > 0 for v in self.demand.values()) and not moving:
            raise _fail("the incident requests nothing: give `demand` and/or `move`")
        return self


def network_shorthand(value: Any) -> Any:
    return {"source": value} if isinstance(value, str) else value


def _fleet_shorthand(value: Any) -> Any:
    if value == "default" or value is None:
        return {"base": "default"}
    return value


def _tolls_shorthand(value: Any) -> Any:
    return {"enabled": value} if isinstance(value, bool) else value


class ScenarioFile(_Spec):
    """A fleetsim scenario file."""

    extends: str | None = Field(
        None, description="Another scenario file (relative path) that this one modifies"
    )
    name: str | None = Field(None, description="Default: the file name without .yaml")
    description: str = ""
    network: Annotated[NetworkSpec, BeforeValidator(network_shorthand)] = Field(
        default_factory=NetworkSpec
    )
    vehicle_classes: dict[VehicleClass, ClassSpec] = Field(default_factory=dict)
    fleet: Annotated[FleetSpec, BeforeValidator(_fleet_shorthand)] = Field(
        default_factory=FleetSpec
    )
    start: StartTime = 10.0
    weather: WeatherSpec = Field(default_factory=WeatherSpec)
    dispatch: DispatchSpec = Field(default_factory=DispatchSpec)
    closures: list[ClosureSpec] = Field(default_factory=list)
    checkpoints: CheckpointsSpec = Field(default_factory=CheckpointsSpec)
    tolls: Annotated[TollsSpec, BeforeValidator(_tolls_shorthand)] = Field(
        default_factory=TollsSpec
    )
    staging: StagingFileSpec = Field(default_factory=StagingFileSpec)
    rules: RulesSpec = Field(default_factory=RulesSpec)
    warmup_min: NonNegFloat = Field(
        60.0, description="Background traffic runs this long before the incident is reported"
    )
    incidents: Annotated[list[IncidentSpec], Field(min_length=1)]
    replications: PositiveInt = 200
    seed: Count = 20220630
    provenance: dict[str, Any] = Field(
        default_factory=dict,
        description="Where a results folder's scenario.resolved.yaml came from (fleetsim and "
        "library versions, what each incident resolved to, a sweep's settings); written by "
        "fleetsim, not read: it does not change the scenario",
    )


def scenario_json_schema() -> dict[str, Any]:
    """Return the JSON Schema of scenario files (draft 2020-12).

    Returns
    -------
    dict
        The schema; ``fleetsim schema`` prints it.
    """
    schema = ScenarioFile.model_json_schema(mode="validation")
    props = schema["properties"]
    props["network"] = {"anyOf": [{"type": "string"}, props["network"]]}
    props["fleet"] = {"anyOf": [{"const": "default"}, props["fleet"]]}
    props["tolls"] = {"anyOf": [{"type": "boolean"}, props["tolls"]]}
    move = schema["$defs"]["MoveSpec"]["properties"]
    for key in ("people_by", "tonnes_by"):
        move[key] = {
            "anyOf": [{"type": "array", "items": {"enum": list(VEHICLE_CLASSES)}}, move[key]]
        }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "fleetsim scenario"
    return schema


# ---------------------------------------------------------------------------------------------
# Translating pydantic errors into problems
# ---------------------------------------------------------------------------------------------


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class describing the mapping at ``loc``, if any."""
    tp: Any = ScenarioFile
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            f = tp.model_fields.get(part) if isinstance(part, str) else None
            if f is None:
                return None
            tp = f.annotation
        elif get_origin(tp) is list:
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        else:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


_TYPE_WORDS = {
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "string_type": "a text string",
    "bool_type": "true or false",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "list_type": "a list",
    "finite_number": "a finite number",
}


def _message(err: Mapping[str, Any], loc: tuple) -> str:
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = list(model.model_fields) if model else []
        hint = did_you_mean(loc[-1], allowed)
        listed = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {loc[-1]!r}{hint}{listed}"
    if kind == "missing":
        return "required key is missing"
    if kind in _TYPE_WORDS:
        return f"must be {_TYPE_WORDS[kind]}, got {value!r}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {
            "greater_than_equal": ">=",
            "greater_than": ">",
            "less_than_equal": "<=",
            "less_than": "<",
        }[kind]
        bound = next(iter(ctx.values())) if ctx else "?"
        return f"must be {op} {bound:g}, got {value!r}"
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"got {value!r}{did_you_mean(value, options)}; allowed values: {', '.join(options)}"
    if kind in ("too_short", "too_long"):
        return f"{err['msg'].lower()}, got {value!r}"
    if kind == "fleetsim":
        return str(err["msg"])
    return f"{err['msg']}, got {value!r}"


def schema_messages(exc: PydanticValidationError) -> list[tuple[tuple[str | int, ...], str]]:
    """Turn a pydantic error into ``(key path, message)`` pairs, one per problem."""
    out = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p != "[key]")
        out.append((loc, _message(err, loc)))
    return out
