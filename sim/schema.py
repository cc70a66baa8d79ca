"""The scenario file language: field types, pydantic models, JSON Schema, error messages.

Private helper of :mod:`sim.scenario`, which owns the runtime dataclasses, the build from a
validated file to a :class:`~sim.scenario.Scenario`, and the public API. This module only
describes what a file may say: every mapping rejects unknown keys, every field names its
type and range, and :func:`schema_messages` turns pydantic's errors into one planner-readable
message per problem (the bad value, the allowed values or the closest matches).

The rules on single values (probabilities, counts, distributions, ...) are the annotated types
of :mod:`sim.fields`, shared with the runtime records; the form of a vehicle class is
:class:`sim.vehicles.ClassSpec`. :func:`validate_file_data` validates a file's data with the
context the checks need: place names against the road network (``"network"``), so unknown
places are reported together with every other problem of the file, and class names against
the file's classes (``"classes"``: the defaults and those under ``vehicle_classes``).
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from sim.demand import is_every
from sim.dists import Dist
from sim.errors import NetworkError, ValidationError
from sim.fields import (
    AtMost,
    BackgroundRate,
    CalloutMode,
    ClassName,
    Count,
    DemandValue,
    Dispatchers,
    DispatchPolicy,
    DistField,
    FileModel,
    FleetSharing,
    Fraction,
    Green,
    Hour,
    Lanes,
    NonNegFloat,
    OverRequest,
    PositiveFloat,
    PositiveInt,
    Probability,
    ScopeName,
    Tier,
    VehicleCount,
    describe,
    did_you_mean,
    error_path,
    fail,
    shown,
)
from sim.limits import (
    MAX_AT_MIN,
    MAX_CHECKPOINTS,
    MAX_MOVE_AMOUNT,
    MAX_REPLICATIONS,
    MAX_SIGMA,
    MAX_VEHICLE_CLASSES,
    MAX_VEHICLES,
    MAX_WARMUP_MIN,
    MAX_WAVE_COUNT,
)
from sim.network import RoadNetwork
from sim.vehicles import DEFAULT_CLASSES, ClassSpec, VehicleClass

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
TollStation = Literal[tuple(TOLL_STATIONS)]  # type: ignore[valid-type]


# ---------------------------------------------------------------------------------------------
# Field types of the file language (the value rules shared with the records are in sim.fields)
# ---------------------------------------------------------------------------------------------


def file_classes(data: Any) -> tuple[str, ...]:
    """The vehicle classes a scenario file may name: the defaults and its own.

    Parameters
    ----------
    data
        The file's data (before validation).
    """
    own = data.get("vehicle_classes") if isinstance(data, dict) else None
    extra = [k for k in own if isinstance(k, str)] if isinstance(own, dict) else []
    return (*DEFAULT_CLASSES, *(k for k in extra if k not in DEFAULT_CLASSES))


def validate_file_data(data: Any, network: RoadNetwork | None) -> ScenarioFile:
    """Validate a scenario file's data against the file language.

    Places are checked against ``network`` (when given) and class names against the default
    classes and the file's own (:func:`file_classes`).

    Raises
    ------
    pydantic.ValidationError
        With every problem (:func:`schema_messages` words them).
    """
    context = {"network": network, "classes": file_classes(data)}
    return ScenarioFile.model_validate(data, context=context)


_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def _hhmm(value: Any, what: str) -> Any:
    """``"22:30"`` → 22.5 (hours); numbers pass on to the hour rule (:data:`sim.fields.Hour`)."""
    if isinstance(value, str):
        m = _TIME.match(value)
        if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
            return int(m.group(1)) + int(m.group(2)) / 60.0
        raise fail(f"{what}, got {value!r}")
    return value


def _parse_start(value: Any) -> Any:
    return _hhmm(value, 'a start time is "HH:MM" (00:00 to 23:59) or an hour in [0, 24)')


def _parse_clock(value: Any) -> Any:
    return _hhmm(value, 'a time of day is "HH:MM" (00:00 to 23:59)')


def _network_of(info: ValidationInfo) -> RoadNetwork | None:
    ctx = info.context
    return ctx.get("network") if isinstance(ctx, dict) else None


def _check_location(value: str, info: ValidationInfo) -> str:
    network = _network_of(info)
    if network is not None:
        try:
            network.places.locate(value)
        except (NetworkError, ValidationError) as exc:
            raise fail(str(exc)) from None
    return value


def _check_node(value: int, info: ValidationInfo) -> int:
    network = _network_of(info)
    if network is not None:
        try:
            network.index_of(value)
        except NetworkError as exc:
            raise fail(str(exc)) from None
    return value


def _check_incident_location(value: str, info: ValidationInfo) -> str:
    _check_location(value, info)
    network = _network_of(info)
    if network is not None:
        node = network.places.locate(value)
        if str(network.zone[node]) == "outside":
            raise fail(
                f"{value!r} lies outside the region: its nearest road node "
                f"{int(network.node_ids[node])} is in zone 'outside' (the tiers apply only "
                f"inside it); zones: {', '.join(sorted(set(network.zone.tolist()) - {'outside'}))}"
            )
    return value


def _class_weights(value: Any) -> Any:
    """``[coach, bus]`` is shorthand for ``{coach: null, bus: null}`` (shares by capacity)."""
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise fail(f"a list of class names or a mapping {{class: weight}}, got {shown(value)}")
        return dict.fromkeys(value)
    return value


def _few_classes(value: dict[str, Any]) -> dict[str, Any]:
    """At most :data:`sim.limits.MAX_VEHICLE_CLASSES` classes with the defaults."""
    n = len({*DEFAULT_CLASSES, *value})
    if n > MAX_VEHICLE_CLASSES:
        raise fail(
            f"{n:,} vehicle classes with the {len(DEFAULT_CLASSES)} defaults, more than the limit "
            f"of {MAX_VEHICLE_CLASSES}"
        )
    return value


def _time_of_day(parse: Callable[[Any], Any], description: str) -> Any:
    """An hour of the day read from ``"HH:MM"`` or a number, with its JSON Schema."""
    return Annotated[
        Hour,
        BeforeValidator(parse),
        WithJsonSchema(
            {
                "description": description,
                "anyOf": [
                    {"type": "string", "pattern": r"^\d{1,2}:\d{2}$"},
                    {"type": "number", "minimum": 0, "exclusiveMaximum": 24},
                ],
            },
            mode="validation",
        ),
    ]


StartTime = _time_of_day(_parse_start, 'Start time of day, "HH:MM" or an hour in [0, 24)')
ClockTime = _time_of_day(_parse_clock, 'A time of day, "HH:MM" or an hour in [0, 24)')
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


_Spec = FileModel


class NetworkSpec(_Spec):
    """Road network: ``ordos`` (embedded), an OSM/GraphML file, or ``place:<name>`` (online)."""

    source: str = Field(
        "ordos",
        description="'ordos', a .osm/.osm.bz2/.osm.xml/.osm.pbf/.graphml file (relative to the "
        "scenario file), or 'place:<name>' (online OSMnx query; needs allow_online)",
    )
    allow_online: bool = Field(False, description="Allow a 'place:' source to query OSM online")


class CalloutFileSpec(_Spec):
    """How an operator reaches its drivers: ``phone`` (its dispatchers) or ``platform``."""

    mode: CalloutMode = Field(
        "phone",
        description="phone: dispatchers call drivers one by one (the class's `call` time); "
        "platform: the operator's platform pushes the request to its drivers in batches",
    )
    batch_size: Annotated[PositiveInt, AtMost(MAX_VEHICLES)] = Field(
        100, description="Platform: drivers per push batch"
    )
    batch_interval_min: Annotated[NonNegFloat, AtMost(MAX_AT_MIN, " minutes")] = Field(
        1.0, description="Platform: minutes between two batches"
    )
    response: DistField = Field(
        Dist.lognormal(3.0, 0.8), description="Platform: push to the driver's response, minutes"
    )
    confirm: DistField = Field(
        Dist.lognormal(0.5, 0.3),
        description="Platform: response to confirmed acceptance, minutes",
    )


class OperatorSpec(_Spec):
    """A dispatching company: name, the class it runs, its dispatchers, its call-out."""

    name: str
    vehicle_class: VehicleClass
    dispatchers: Dispatchers = 2
    callout: CalloutFileSpec | None = Field(None, description="Default: phone")


class DepotSpec(_Spec):
    """A depot: where, how many vehicles of each class, which operator calls them."""

    name: str | None = Field(None, description="Default: the location")
    location: Location
    vehicles: dict[VehicleClass, VehicleCount] = Field(description="Vehicles per class")
    operators: dict[VehicleClass, str] = Field(
        default_factory=dict,
        description="Operator name per class; default: an own operator '<depot> <class>'",
    )
    dispatchers: Dispatchers = Field(2, description="Dispatchers of the depot's own operators")


class FleetSpec(_Spec):
    """The reserve fleet: the default 2,010 vehicles (modified), or your own depots."""

    base: Literal["default", "none"] = Field(
        "default", description="Start from the default fleet, or from no vehicle at all"
    )
    scale: Annotated[NonNegFloat, AtMost(MAX_VEHICLES)] = Field(
        1.0, description="Multiply every base class total"
    )
    totals: dict[VehicleClass, VehicleCount] = Field(
        default_factory=dict,
        description="Set a class total, spread over its base depots in proportion",
    )
    depot_counts: dict[str, VehicleCount] = Field(
        default_factory=dict, description="Set the count of a base depot by name"
    )
    dispatchers: dict[str, Dispatchers] = Field(
        default_factory=dict, description="Set the dispatchers of an operator by name"
    )
    callout: dict[str, CalloutFileSpec] = Field(
        default_factory=dict,
        description="Set the call-out (phone or platform) of an operator by name",
    )
    operators: list[OperatorSpec] = Field(default_factory=list)
    depots: list[DepotSpec] = Field(default_factory=list)


class WeatherSpec(_Spec):
    """Weather: a speed factor on every road, and the spread of trip times."""

    speed_factor: PositiveFloat = Field(1.0, description="Multiply every speed (0.6 = snow)")
    trip_time_spread: Annotated[NonNegFloat, AtMost(MAX_SIGMA)] = Field(
        DEFAULT_TRIP_SIGMA, description="Lognormal sigma of the random trip-time factor"
    )
    trip_time_median: PositiveFloat = Field(
        DEFAULT_TRIP_MEDIAN, description="Median of the trip-time factor"
    )


class PlatformOutageSpec(_Spec):
    """An outage of every call-out platform at the end of the alert."""

    probability: Probability = Field(0.0, description="P(the platforms are down) per replication")
    duration: DistField = Field(
        Dist.fixed(30.0), description="Minutes from the end of the alert until they are up"
    )


class PeriodSpec(_Spec):
    """A period of the day, ``[start, end)``; it may wrap past midnight."""

    start: ClockTime
    end: ClockTime


class CongestionSpec(_Spec):
    """Extra travel time as a fraction of free flow (0.3 = 30 % slower), by period."""

    peak: Annotated[NonNegFloat, AtMost(10.0)] = Field(0.0, description="In the peaks")
    offpeak: Annotated[NonNegFloat, AtMost(10.0)] = Field(0.0, description="Outside the peaks")


class TrafficSpec(_Spec):
    """Congestion by area and time of day, scaled by a level drawn once per replication."""

    level: DistField = Field(
        Dist.fixed(1.0),
        description="A distribution: the replication's traffic level, multiplying every extra "
        "below (shared by every vehicle; e.g. {uniform: {low: 0.5, high: 1.5}})",
    )
    central: CongestionSpec = Field(
        default_factory=CongestionSpec, description="In the central urban area"
    )
    elsewhere: CongestionSpec = Field(
        default_factory=CongestionSpec, description="Outside the central urban area"
    )
    peaks: Annotated[list[PeriodSpec], AtMost(24)] = Field(
        default_factory=lambda: [
            PeriodSpec(start=7.5, end=9.0),
            PeriodSpec(start=17.0, end=19.0),
        ],
        description="Peak periods of the clock (default 07:30-09:00 and 17:00-19:00)",
    )


class ShocksSpec(_Spec):
    """Common shocks: per replication, draws shared by every vehicle (all off by default)."""

    speed_factor: DistField | None = Field(
        None,
        description="A distribution: multiplies weather.speed_factor for every vehicle of a "
        "replication (e.g. {uniform: {low: 0.9, high: 1.1}})",
    )
    trip_time_spread: DistField | None = Field(
        None,
        description="A distribution: the replication's lognormal sigma of the trip-time factor "
        "(replaces weather.trip_time_spread)",
    )
    platform_outage: PlatformOutageSpec = Field(default_factory=PlatformOutageSpec)
    traffic: TrafficSpec | None = Field(
        None, description="Congestion by area and time of day (default: none)"
    )


class NightSpec(_Spec):
    """The night: reach and mobilisation take their night values from ``start`` to ``end``."""

    start: StartTime = Field(22.0, description='Night from, "HH:MM" (default 22:00)')
    end: StartTime = Field(6.0, description='Night to, "HH:MM" (default 06:00)')


class DispatchSpec(_Spec):
    """The command centre: alert delay and over-request factor."""

    alert: DistField = Field(DEFAULT_ALERT, description="Report to activation, minutes")
    over_request: OverRequest = Field(
        1.1, description="Call ceil(demand x over_request) vehicles at once"
    )
    policy: DispatchPolicy = Field(
        "first_come",
        description="With fleet_sharing: shared, who gets a vehicle several incidents want: "
        "first_come (calls in the order placed), deadline (earliest deadline first) or "
        "priority (each incident's `priority`, 1 first)",
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
            raise fail(
                "a closure is either {road: REF} / {road: REF, between: [A, B]} or "
                "{near: PLACE, radius_km: R}"
            )
        if self.near is not None and self.radius_km is None:
            raise fail("a `near` closure needs `radius_km`")
        if self.road is not None and self.radius_km is not None:
            raise fail("`radius_km` goes with `near`, not with `road`")
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
    lanes: Lanes | None = None
    service: DistField | None = None
    background_per_min: BackgroundRate | None = None
    background_service: DistField | None = None
    green: Green | None = None
    green_lanes: Lanes | None = None


class CheckpointsSpec(_Spec):
    """Road checkpoints: ``count`` placed by a rule, plus an explicit list of ``sites``."""

    count: Annotated[Count, AtMost(MAX_CHECKPOINTS)] = Field(
        0, description="Checkpoints placed by `placement`"
    )
    placement: Literal["spread"] = Field(
        "spread",
        description="spread: evenly by road length over the region's road nodes (not named "
        "places, not outside the region, not central unless include_central), deterministic",
    )
    include_central: bool = False
    lanes: Lanes = 1
    service: DistField = Field(DEFAULT_CHECKPOINT_SERVICE, description="Minutes per vehicle")
    background_per_min: BackgroundRate = Field(0.0, description="Ordinary traffic, vehicles/min")
    background_service: DistField | None = Field(None, description="Default: `service`")
    green: Green = "none"
    green_lanes: Lanes = 1
    sites: list[SiteSpec] = Field(default_factory=list)


class TollsSpec(_Spec):
    """The G65 mainline toll plazas 关碾房, 耳字壕 and 东胜西 (removed 2022-06-30)."""

    enabled: bool = Field(False, description="Put the plazas back (they are off by default)")
    stations: list[TollStation] = Field(default_factory=lambda: list(TOLL_STATIONS))
    lanes: Lanes = DEFAULT_TOLL_LANES
    service: DistField = DEFAULT_TOLL_SERVICE
    background_per_min: BackgroundRate = 0.0
    background_service: DistField | None = None
    green: Green = "none"
    green_lanes: Lanes = 1


class StagingFileSpec(_Spec):
    """Registration at the staging point."""

    lanes: Lanes = 8
    service: DistField = DEFAULT_STAGING_SERVICE


class LocationsSpec(_Spec):
    """How far a ``"LAT,LON"`` may lie from the road node it snaps to."""

    max_snap_km: Annotated[PositiveFloat, AtMost(1000.0, " km")] = Field(
        2.0,
        description="Largest distance (km) from a LAT,LON to its road node; beyond it the "
        "scenario is refused unless access_legs",
    )
    access_legs: bool = Field(
        False,
        description="Reach incidents, staging points and depots beyond max_snap_km by an "
        "off-road access leg (distance x 1.3 at 15 km/h) added to every vehicle's route",
    )


class RulesSpec(_Spec):
    """Tier rules; deadlines and scopes merge over the ``ordos-123`` defaults."""

    name: str = "ordos-123"
    deadlines_min: dict[Tier, PositiveFloat] = Field(default_factory=dict)
    banner_radius_km: NonNegFloat = 15.0
    scope: dict[Tier, ScopeName] = Field(default_factory=dict)
    success_fraction: Fraction = 1.0


class MoveSpec(_Spec):
    """People or tonnes to move, converted to vehicles by class capacity."""

    people: Annotated[Count, AtMost(MAX_MOVE_AMOUNT)] | None = None
    tonnes: Annotated[NonNegFloat, AtMost(MAX_MOVE_AMOUNT)] | None = None
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
    at: ClockTime | None = Field(
        None, description='Shared fleet: the alarm\'s time of day, "HH:MM", at or after `start`'
    )
    at_min: Annotated[NonNegFloat, AtMost(MAX_AT_MIN, " minutes")] | None = Field(
        None, description="Shared fleet: the alarm, minutes after `start` (the first alarm)"
    )
    priority: PositiveInt | None = Field(
        None, description="Shared fleet, dispatch.policy: priority: 1 is served first"
    )
    task_min: DistField | None = Field(
        None,
        description="Shared fleet: minutes a vehicle stays with the incident once registered; "
        "default: until the end of the horizon (no reuse)",
    )

    @model_validator(mode="after")
    def _one_time(self) -> IncidentSpec:
        if self.at is not None and self.at_min is not None:
            raise fail("give the alarm time as `at` or `at_min`, not both")
        return self

    @model_validator(mode="after")
    def _has_demand(self) -> IncidentSpec:
        moving = self.move is not None and (self.move.people or self.move.tonnes)
        if not any(is_every(v) or v > 0 for v in self.demand.values()) and not moving:
            raise fail("the incident requests nothing: give `demand` and/or `move`")
        return self


class WaveSpec(_Spec):
    """Incidents generated at regular intervals (shared fleet): the k-th (k = 0, 1, ...) is
    alarmed at ``at_min + k x interval_min`` at the k-th location (cycling through them)."""

    name: str = Field("wave", description="Incident k is named '<name> <k+1>'")
    count: Annotated[PositiveInt, AtMost(MAX_WAVE_COUNT)]
    interval_min: Annotated[NonNegFloat, AtMost(MAX_AT_MIN, " minutes")] = Field(
        description="Minutes between two alarms"
    )
    at_min: Annotated[NonNegFloat, AtMost(MAX_AT_MIN, " minutes")] = Field(
        0.0, description="The first alarm, minutes after `start`"
    )
    locations: list[IncidentLocation] | None = Field(
        None, description="Where the incidents happen, in turn (or `sites`)"
    )
    sites: str | None = Field(
        None, description="'seats' or 'grid:KM': candidate sites of the network, in turn"
    )
    demand: dict[VehicleClass, DemandValue] = Field(default_factory=dict)
    move: MoveSpec | None = None
    deadline_min: PositiveFloat | None = None
    scope: ScopeName | None = None
    priority: PositiveInt | None = None
    task_min: DistField | None = None

    @model_validator(mode="after")
    def _where_and_what(self) -> WaveSpec:
        if (self.locations is None) == (self.sites is None):
            raise fail("give the wave's places as `locations` or `sites`, one of them")
        if self.locations is not None and not self.locations:
            raise fail("`locations` is empty")
        moving = self.move is not None and (self.move.people or self.move.tonnes)
        if not any(v == "all" or v > 0 for v in self.demand.values()) and not moving:
            raise fail("the wave's incidents request nothing: give `demand` and/or `move`")
        return self


def _waves_shorthand(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


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
    vehicle_classes: Annotated[dict[ClassName, ClassSpec], AfterValidator(_few_classes)] = Field(
        default_factory=dict,
        description="Override a default class's parameters, or define a class of its own",
    )
    fleet: Annotated[FleetSpec, BeforeValidator(_fleet_shorthand)] = Field(
        default_factory=FleetSpec
    )
    start: StartTime = 10.0
    night: NightSpec = Field(default_factory=NightSpec)
    shocks: ShocksSpec = Field(default_factory=ShocksSpec)
    weather: WeatherSpec = Field(default_factory=WeatherSpec)
    dispatch: DispatchSpec = Field(default_factory=DispatchSpec)
    fleet_sharing: FleetSharing = Field(
        "independent",
        description="independent: every incident has the whole fleet to itself (one question "
        "per incident); shared: all incidents happen in one replication, each at its own "
        "time, drawing on one fleet",
    )
    closures: list[ClosureSpec] = Field(default_factory=list)
    checkpoints: CheckpointsSpec = Field(default_factory=CheckpointsSpec)
    tolls: Annotated[TollsSpec, BeforeValidator(_tolls_shorthand)] = Field(
        default_factory=TollsSpec
    )
    staging: StagingFileSpec = Field(default_factory=StagingFileSpec)
    rules: RulesSpec = Field(default_factory=RulesSpec)
    locations: LocationsSpec = Field(default_factory=LocationsSpec)
    warmup_min: Annotated[NonNegFloat, AtMost(MAX_WARMUP_MIN, " minutes")] = Field(
        60.0, description="Background traffic runs this long before the incident is reported"
    )
    waves: Annotated[list[WaveSpec], BeforeValidator(_waves_shorthand)] = Field(
        default_factory=list,
        description="Generated series of incidents (a mapping or a list of them), after "
        "`incidents`",
    )
    incidents: list[IncidentSpec] = Field(default_factory=list, validate_default=True)
    replications: Annotated[PositiveInt, AtMost(MAX_REPLICATIONS)] = 200
    seed: Count = 20220630
    provenance: dict[str, Any] = Field(
        default_factory=dict,
        description="Where a results folder's scenario.resolved.yaml came from (fleetsim and "
        "library versions, what each incident resolved to, a sweep's settings); written by "
        "fleetsim, not read: it does not change the scenario",
    )

    @field_validator("incidents")
    @classmethod
    def _some_incidents(cls, value: list[IncidentSpec], info: ValidationInfo) -> Any:
        if not value and not info.data.get("waves"):
            raise fail("must have at least 1 item (an incident), or give `waves`")
        return value


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
        move[key] = {"anyOf": [{"type": "array", "items": {"type": "string"}}, move[key]]}
    props["waves"] = {"anyOf": [props["waves"]["items"], props["waves"]]}
    props["incidents"]["minItems"] = 1
    props["waves"]["anyOf"][1]["minItems"] = 1
    schema["anyOf"] = [{"required": ["incidents"]}, {"required": ["waves"]}]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "fleetsim scenario"
    return schema


# ---------------------------------------------------------------------------------------------
# Translating pydantic errors into problems
# ---------------------------------------------------------------------------------------------


def unwrap_type(tp: Any) -> Any:
    """Return ``tp`` without ``Annotated[...]`` and ``| None`` (other unions stay).

    Parameters
    ----------
    tp
        A type annotation.
    """
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
        tp = unwrap_type(tp)
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
    tp = unwrap_type(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _message(err: Mapping[str, Any], loc: tuple) -> str:
    if err["type"] == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = list(model.model_fields) if model else []
        hint = did_you_mean(loc[-1], allowed)
        listed = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {loc[-1]!r}{hint}{listed}"
    return describe(err)


def schema_messages(exc: PydanticValidationError) -> list[tuple[tuple[str | int, ...], str]]:
    """Turn a pydantic error into ``(key path, message)`` pairs, one per problem."""
    out = []
    for err in exc.errors():
        loc = error_path(err["loc"])
        out.append((loc, _message(err, loc)))
    return out
