"""Plan records: everything one replication of one incident needs, computed once.

Both engines (:mod:`sim.model`, the SimPy reference, and :mod:`sim.engine`, the heap engine)
consume these records as equals: an :class:`IncidentPlan` (vehicles, ranked candidates,
routes cut into legs at checkpoints, queues, call-out rules) and the replication's
:class:`Draws` (standard uniforms keyed by purpose). :mod:`sim.planning` builds plans from a
scenario and a road network; nothing here knows about either.
"""

from __future__ import annotations

import enum
import hashlib
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import get_args

import numpy as np

from sim.demand import Basis
from sim.dists import Dist
from sim.fields import (
    CalloutMode,
    Count,
    DistField,
    Green,
    NonNegFloat,
    PositiveInt,
    Probability,
    record,
)

GREEN_CHANNELS: tuple[str, ...] = get_args(Green)
CALLOUT_MODES: tuple[str, ...] = get_args(CalloutMode)


class Outcome(enum.IntEnum):
    """What became of a called vehicle (stored as ``int8`` codes in both engines).

    ``IN_CALL``: its call was placed (queued at or taken by a dispatcher) but had no answer
    when the run stopped at the horizon; ``EN_ROUTE``: it accepted but had not registered.
    """

    ASSEMBLED = 0
    DECLINED = 1
    UNREACHABLE = 2
    UNAVAILABLE = 3
    EN_ROUTE = 4
    IN_CALL = 5


@record(lambda v: f"checkpoint {v.get('name')!r}")
class CheckpointSpec:
    """A checkpoint or toll plaza at a network node.

    Parameters
    ----------
    name
        Unique name.
    node
        Node index where it sits; a vehicle whose path passes the node is stopped.
    lanes
        Number of service lanes (shared with background traffic).
    service
        Service time per vehicle, minutes (health-code check, toll).
    background_per_min
        Arrival rate of ordinary vehicles (Poisson), per minute, across all lanes.
    background_service
        Service time of an ordinary vehicle, minutes (defaults to ``service``).
    green
        ``none`` (first come, first served with background traffic), ``priority`` (the
        emergency fleet jumps the queue; no pre-emption) or ``dedicated`` (the emergency fleet
        uses ``green_lanes`` lanes of its own).
    green_lanes
        Lanes reserved for the emergency fleet when ``green == "dedicated"``. They are *added*
        to the plaza (a gate opened for the fleet, as green channels were in 2022); ordinary
        traffic keeps all ``lanes``. To model taking lanes away from ordinary traffic, lower
        ``lanes`` as well.
    kind
        Free label, e.g. ``checkpoint`` or ``toll``.
    """

    name: str
    node: Count
    lanes: PositiveInt = 1
    service: DistField = field(default_factory=lambda: Dist.fixed(1.0))
    background_per_min: NonNegFloat = 0.0
    background_service: DistField | None = None
    green: Green = "none"
    green_lanes: PositiveInt = 1
    kind: str = "checkpoint"

    @property
    def bg_service(self) -> Dist:
        """Service-time distribution of background vehicles."""
        return self.background_service if self.background_service is not None else self.service


@record("callout")
class CalloutSpec:
    """How an operator reaches its drivers.

    Parameters
    ----------
    mode
        ``phone``: its dispatchers call the drivers one by one (the class's ``call`` time per
        attempt, a queue per operator). ``platform``: its platform pushes the request to every
        eligible driver of the operator, in rank order, ``batch_size`` drivers per batch, one
        batch every ``batch_interval_min`` minutes: a driver of rank ``j`` among the class's
        platform candidates (of every platform operator) goes in batch ``j // batch_size``,
        which leaves at ``alert + (j // batch_size) × batch_interval_min`` (so a platform does
        not push far drivers before another has pushed the near ones); no further batch once
        the class has its target of acceptances. A pushed driver who is available, reachable
        and accepts (the class's draws) responds ``response`` minutes after the push; the
        others never respond. The first responses up to the target are taken and confirmed
        ``confirm`` minutes later (the acceptance time); a later response is turned away (the
        vehicle is not counted as called).
    batch_size
        Drivers per push batch (platform).
    batch_interval_min
        Minutes between two batches (platform).
    response
        Push to a driver's response, minutes (platform).
    confirm
        Response to confirmed acceptance, minutes (platform).
    """

    mode: CalloutMode = "phone"
    batch_size: PositiveInt = 100
    batch_interval_min: NonNegFloat = 1.0
    response: DistField = field(default_factory=lambda: Dist.lognormal(3.0, 0.8))
    confirm: DistField = field(default_factory=lambda: Dist.lognormal(0.5, 0.3))


#: Morning and evening peaks of the traffic shock (ASSUMPTION: a Chinese city's commuting
#: peaks), clock hours ``[start, end)``.
DEFAULT_PEAKS: tuple[tuple[float, float], ...] = ((7.5, 9.0), (17.0, 19.0))


@record("shocks.traffic")
class TrafficShock:
    """Congestion by area and time of day, scaled by a level drawn once per replication.

    A leg that starts at clock time ``t`` takes its free-flow minutes in the central urban
    area × (1 + level × ``central[p]``) plus its other minutes × (1 + level ×
    ``elsewhere[p]``), then × the vehicle's trip factor, where ``p`` is peak or off-peak at
    ``t``. The level is a common draw: a replication with heavy traffic is heavy everywhere.

    Parameters
    ----------
    level
        A distribution of the replication's traffic level (1 = the extras below as given).
    central, elsewhere
        Extra travel time as a fraction of free flow, ``(peak, off-peak)``, in the central
        urban area (:attr:`sim.network.RoadNetwork.central`) and outside it.
    peaks
        Peak periods, clock hours ``[start, end)`` (each may wrap past midnight).
    """

    level: DistField = field(default_factory=lambda: Dist.fixed(1.0))
    central: tuple[NonNegFloat, NonNegFloat] = (0.0, 0.0)
    elsewhere: tuple[NonNegFloat, NonNegFloat] = (0.0, 0.0)
    peaks: tuple[tuple[float, float], ...] = DEFAULT_PEAKS

    def extra(self, hour: float | None, level: float) -> tuple[float, float]:
        """Extra fractions ``(central, elsewhere)`` for a leg starting at clock ``hour``
        (``None``: no clock, off-peak) in a replication of traffic ``level``."""
        peak = hour is not None and any(in_period(hour, p) for p in self.peaks)
        i = 0 if peak else 1
        return level * self.central[i], level * self.elsewhere[i]


@record("shocks")
class ShockSpec:
    """Common shocks: per replication, draws shared by every vehicle (all off by default).

    Parameters
    ----------
    speed_factor
        A distribution: multiplies the weather's speed factor for every vehicle of the
        replication (a snowy day is slow for everyone).
    trip_time_spread
        A distribution: the lognormal sigma of the trip-time factor in the replication
        (replaces the weather's ``trip_time_spread``).
    outage_probability
        Probability that every platform (:class:`CalloutSpec`) is down when the alert ends.
    outage_min
        A distribution: how long an outage lasts from the end of the alert, minutes; no batch
        is pushed before it ends.
    traffic
        Congestion by area and time of day (:class:`TrafficShock`); ``None``: none.
    """

    speed_factor: DistField | None = None
    trip_time_spread: DistField | None = None
    outage_probability: Probability = 0.0
    outage_min: DistField = field(default_factory=lambda: Dist.fixed(30.0))
    traffic: TrafficShock | None = None

    @property
    def active(self) -> bool:
        """Whether any shock is switched on."""
        return (
            self.speed_factor is not None
            or self.trip_time_spread is not None
            or self.outage_probability > 0
            or self.traffic is not None
        )


#: No common shocks (the default).
NO_SHOCKS = ShockSpec()


#: The call-out of an operator that names none: dispatchers on the phone.
PHONE = CalloutSpec()


#: A replication stops this many minutes after the incident is reported.
HORIZON_MIN = 24 * 60.0


@record("staging")
class StagingSpec:
    """Registration at the staging point: ``lanes`` parallel lanes, ``service`` minutes each."""

    lanes: PositiveInt = 8
    service: DistField = field(default_factory=lambda: Dist.lognormal(1.0, 0.3))


#: Night from 22:00 to 06:00 by default (clock hours; a scenario's ``night`` changes them).
NIGHT_HOURS: tuple[float, float] = (22.0, 6.0)


def in_period(hour: float, period: tuple[float, float]) -> bool:
    """Whether clock hour ``hour`` (in [0, 24)) is in the period ``[start, end)``, which may
    wrap past midnight (22:00-06:00) or not (00:00-05:00); start = end: never."""
    start, end = period
    if start <= end:
        return start <= hour < end
    return hour >= start or hour < end


def is_night(hour: float, night: tuple[float, float] = NIGHT_HOURS) -> bool:
    """Whether clock hour ``hour`` is in the night (:func:`in_period`)."""
    return in_period(hour, night)


@dataclass(frozen=True)
class ClassPlan:
    """Per-class part of an incident plan.

    ``basis`` says what the target needs (:class:`sim.demand.Basis`): ``success_fraction`` of
    ``requested`` (a count, or ``all_in_scope``: every candidate) or of the vehicles that
    accepted (``all_accepted``).
    """

    vehicle_class: str
    requested: int  # vehicles requested (for `all_in_scope`/`all_accepted`: every candidate)
    basis: Basis  # what the success criterion counts against (:mod:`sim.demand`)
    candidates: np.ndarray  # vehicle indices, best expected arrival first
    initial_calls: int  # acceptances aimed for: ceil(d × over_request), capped
    call: Dist
    mobilisation: Dist  # in the period of the alarm (what the ranking expects)
    availability: float
    reach: float  # in the period of the alarm
    accept: float
    #: By the clock (:meth:`IncidentPlan.night_at`): reach by day and by night (a call's clock
    #: time decides), mobilisation by day and by night (the acceptance's clock time decides);
    #: ``None``: ``reach`` and ``mobilisation`` at every hour.
    reach_day_night: tuple[float, float] | None = None
    mobilisation_day_night: tuple[Dist, Dist] | None = None

    def reach_at(self, night: bool | None) -> float:
        """P(the driver answers) for a call placed by night (``True``), by day (``False``),
        or in the period of the alarm (``None``)."""
        if night is None or self.reach_day_night is None:
            return self.reach
        return self.reach_day_night[int(night)]

    @property
    def mobilisations(self) -> tuple[Dist, Dist]:
        """The mobilisation delay of a vehicle accepting by day and by night."""
        if self.mobilisation_day_night is None:
            return (self.mobilisation, self.mobilisation)
        return self.mobilisation_day_night


@dataclass(frozen=True)
class IncidentPlan:
    """Everything one incident's replications need, computed once.

    Vehicle arrays are indexed by fleet vehicle index; route arrays by depot index.
    """

    name: str
    node: int
    tier: str
    deadline_min: float
    success_fraction: float
    classes: tuple[ClassPlan, ...]
    vehicle_depot: np.ndarray  # depot index per vehicle
    vehicle_operator: np.ndarray  # operator index per vehicle
    operator_dispatchers: tuple[int, ...]
    depot_legs_min: tuple[np.ndarray, ...]  # free-flow minutes of each leg, per depot
    depot_checkpoints: tuple[np.ndarray, ...]  # checkpoint indices after legs[:-1], per depot
    checkpoints: tuple[CheckpointSpec, ...]
    staging: StagingSpec
    alert: Dist
    trip_factor: Dist
    speed_factor: float = 1.0
    warmup_min: float = 60.0
    horizon_min: float = HORIZON_MIN
    vehicle_key: np.ndarray | None = None  # uint64 identity key per vehicle (vehicle_keys())
    stream_name: str | None = None  # keys the random streams; default: ``name``
    snap_km: tuple[float, float] = (0.0, 0.0)  # location, staging point: km to their nodes
    access_min: float = 0.0  # off-road access leg to the staging point (in depot_legs_min)
    operator_callout: tuple[CalloutSpec, ...] = ()  # per operator; () or missing: phone
    clock_hour: float | None = None  # clock hour of the report; None: the alarm's period only
    night_hours: tuple[float, float] = NIGHT_HOURS  # night from, to (clock hours)
    shocks: ShockSpec = NO_SHOCKS  # common shocks per replication
    # Free-flow minutes of each leg inside the central urban area, per depot (as
    # depot_legs_min); filled only when the plan has a traffic shock, else ().
    depot_central_min: tuple[np.ndarray, ...] = ()

    def night_at(self, minutes: float) -> bool | None:
        """Whether it is night ``minutes`` after the report (:func:`is_night`); ``None`` when
        the plan has no clock (every call and acceptance in the alarm's period)."""
        if self.clock_hour is None:
            return None
        return is_night((self.clock_hour + minutes / 60.0) % 24.0, self.night_hours)

    def callout(self, operator: int) -> CalloutSpec:
        """The call-out of operator ``operator`` (:data:`PHONE` when the plan names none)."""
        return self.operator_callout[operator] if operator < len(self.operator_callout) else PHONE

    @property
    def has_platform(self) -> bool:
        """Whether any operator reaches its drivers through a platform."""
        return any(c.mode == "platform" for c in self.operator_callout)

    @property
    def stream(self) -> str:
        """The name that keys this incident's random streams (its own name by default; a
        sweep site uses the swept incident's name, so a site's row is a run of that
        incident moved to the site)."""
        return self.name if self.stream_name is None else self.stream_name

    @property
    def n_vehicles(self) -> int:
        """Number of vehicles in the fleet."""
        return int(self.vehicle_depot.size)

    @property
    def keys(self) -> np.ndarray:
        """The identity key of every vehicle (``uint64``), which keys all its random draws.

        Plans built from a fleet carry :func:`vehicle_keys` of it; a plan built by hand
        without keys numbers its vehicles by position.
        """
        if self.vehicle_key is not None:
            return self.vehicle_key
        return mix64(np.arange(self.n_vehicles, dtype=np.uint64))

    @property
    def max_checkpoints(self) -> int:
        """The largest number of checkpoints on any depot's route."""
        return max((c.size for c in self.depot_checkpoints), default=0)

    @property
    def has_background(self) -> bool:
        """Whether any checkpoint has background traffic."""
        return any(c.background_per_min > 0 for c in self.checkpoints)


@dataclass(frozen=True)
class Draws:
    """The random inputs of one replication, as standard uniforms per vehicle.

    Uniforms (not final values) are stored so the same vehicle gets the same draws in every
    scenario variant (common random numbers), whatever the distributions' parameters.
    """

    alert: float
    avail: np.ndarray
    reach: np.ndarray
    accept: np.ndarray
    call: np.ndarray
    mobilisation: np.ndarray
    trip: np.ndarray
    service: np.ndarray  # (n_vehicles, 1 + max_checkpoints): column 0 staging, then checkpoints
    background_seeds: tuple[np.random.SeedSequence, ...]  # one per checkpoint
    response: np.ndarray | None = None  # platform: push to response (None: hand-made draws)
    confirm: np.ndarray | None = None  # platform: response to confirmed acceptance
    #: Per replication, shared by every vehicle and every incident of the replication
    #: (:data:`SHOCKS`): speed factor, trip spread, outage or not, outage length.
    shock: np.ndarray | None = None


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def mix64(x: np.ndarray) -> np.ndarray:
    """The SplitMix64 output function, element-wise on ``uint64`` (wrapping arithmetic).

    A bijection of 64-bit words whose outputs pass BigCrush as a counter-based generator
    (Steele, Lea & Flood 2014); here it hashes (vehicle, stream) keys into uniforms.
    """
    z = np.asarray(x, dtype=np.uint64) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def key_of(text: str) -> int:
    """A stable 64-bit key of a text (BLAKE2b), the same on every machine and Python run."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def vehicle_keys(depots: Sequence[tuple[str, str, int]]) -> np.ndarray:
    """Identity keys of a fleet's vehicles, in vehicle order.

    Vehicle ``i`` of depot ``name`` (class ``vehicle_class``) has the key
    ``mix64(key_of(name + class) + i)``: it depends on the depot's name, its class and the
    vehicle's index within the depot only, never on the vehicle's position in the fleet. So
    adding or removing vehicles of one depot or class leaves every other vehicle's draws as
    they were (common random numbers across fleet edits).

    Parameters
    ----------
    depots
        ``(name, vehicle_class, count)`` of every depot, in fleet order.
    """
    parts = [
        np.uint64(key_of(f"{name}\x1f{vehicle_class}")) + np.arange(count, dtype=np.uint64)
        for name, vehicle_class, count in depots
    ]
    if not parts:
        return np.zeros(0, dtype=np.uint64)
    return mix64(np.concatenate(parts))


def keyed_uniforms(keys: np.ndarray, stream: int, columns: int | None = None) -> np.ndarray:
    """Standard uniforms on (0, 1], one per vehicle key (and column), for one stream.

    ``u = (mix64(key XOR mix64(stream + column)) >> 11 + 1) / 2**53``: a counter-based draw, a
    pure function of the vehicle's identity, the stream (scenario seed, incident, replication,
    purpose) and the column, so it does not depend on which other vehicles exist.

    Parameters
    ----------
    keys
        ``uint64`` vehicle keys.
    stream
        The stream's 64-bit key.
    columns
        ``None`` for one value per key, else that many columns.
    """
    cols = 1 if columns is None else columns
    salt = mix64(np.uint64(stream) + np.arange(cols, dtype=np.uint64) * _GOLDEN)
    bits = mix64(keys[:, None] ^ salt[None, :])
    u = ((bits >> np.uint64(11)) + np.uint64(1)).astype(np.float64) * 2.0**-53
    return u[:, 0] if columns is None else u


def uniform(rng: np.random.Generator, n: int | tuple[int, ...]) -> np.ndarray:
    """Standard uniforms on the open interval (0, 1], so inverse CDFs stay finite."""
    return 1.0 - rng.random(n)


#: Ordinary vehicles are drawn in batches of this many (gap, service) pairs.
BACKGROUND_BATCH = 256


def background_batch(
    rng: np.random.Generator, rate_per_min: float, service: Dist
) -> tuple[list[float], list[float]]:
    """The next batch of ordinary traffic at a checkpoint: inter-arrival gaps and services.

    Both engines draw background traffic through this one function, in the same order, so
    they see the same ordinary vehicles.
    """
    batch = uniform(rng, (BACKGROUND_BATCH, 2))
    gaps = -np.log(batch[:, 0]) / rate_per_min
    return gaps.tolist(), service.from_uniform(batch[:, 1]).tolist()


PURPOSES: dict[str, int] = {
    "alert": 0,
    "availability": 1,
    "callout": 2,
    "mobilisation": 3,
    "travel": 4,
    "service": 5,
    "background": 6,
    "platform": 7,  # appended: the draws of the purposes above do not move
}

#: The common shocks' uniforms (:attr:`Draws.shock`), in column order.
SHOCKS: tuple[str, ...] = (
    "speed_factor",
    "trip_time_spread",
    "outage",
    "outage_min",
    "traffic_level",  # appended: the columns above do not move
)
#: Keys the common shocks of a replication: the scenario seed and the replication only, so
#: every incident (and every variant) of replication ``r`` sees the same weather.
SHOCK_STREAM = 0x5C0C5


def trip_multipliers(plan: IncidentPlan, d: Draws, u: np.ndarray) -> np.ndarray:
    """Every vehicle's multiplier of its free-flow leg times, from its trip uniforms ``u``:
    the trip-time factor divided by the speed factor, with the replication's common shocks.
    """
    shocks = plan.shocks
    trip, speed = plan.trip_factor, plan.speed_factor
    if shocks.active:
        assert d.shock is not None
        if shocks.trip_time_spread is not None:
            sigma = float(shocks.trip_time_spread.from_uniform(d.shock[1]))
            trip = Dist.lognormal(trip.value, sigma)
        if shocks.speed_factor is not None:
            speed = speed * float(shocks.speed_factor.from_uniform(d.shock[0]))
    return trip.from_uniform(u) / speed


def traffic_level(plan: IncidentPlan, d: Draws) -> float | None:
    """The replication's traffic level (:class:`TrafficShock`), ``None`` without traffic."""
    traffic = plan.shocks.traffic
    if traffic is None:
        return None
    assert d.shock is not None
    return float(traffic.level.from_uniform(d.shock[SHOCKS.index("traffic_level")]))


def leg_minutes(
    plan: IncidentPlan, leg: float, central: float, minutes: float, level: float | None
) -> float:
    """Free-flow minutes of a leg with ``central`` of its ``leg`` minutes in the central
    urban area, congested as the traffic shock says for a leg starting ``minutes`` after the
    report in a replication of traffic ``level`` (``None``: no traffic, ``leg``)."""
    traffic = plan.shocks.traffic
    if level is None or traffic is None:
        return leg
    hour = None if plan.clock_hour is None else (plan.clock_hour + minutes / 60.0) % 24.0
    xc, xe = traffic.extra(hour, level)
    return leg + central * xc + (leg - central) * xe


def congestion(
    plan: IncidentPlan,
    level: float | None,
    t0: float,
    legs: Sequence[float],
    central: np.ndarray | None,
) -> Callable[[int, float], float] | None:
    """The traffic shock on a route: ``f(i, now)``, leg ``i``'s free-flow minutes when it
    starts at simulation time ``now`` (the report at ``t0``), for
    :func:`sim.model.drive_and_register`; ``None`` without traffic (``level`` or ``central``
    ``None``)."""
    if level is None or central is None:
        return None

    def congested(i: int, now: float) -> float:
        return leg_minutes(plan, float(legs[i]), float(central[i]), now - t0, level)

    return congested


def outage_end(plan: IncidentPlan, d: Draws, alert_end: float) -> float:
    """When the platforms are up again in this replication (``alert_end`` when no outage)."""
    shocks = plan.shocks
    if shocks.outage_probability <= 0 or d.shock is None:
        return alert_end
    if d.shock[2] > shocks.outage_probability:
        return alert_end
    return alert_end + float(shocks.outage_min.from_uniform(d.shock[3]))


def draw(plan: IncidentPlan, root: np.random.SeedSequence, n_service: int | None = None) -> Draws:
    """Sample the random inputs of one replication.

    Parameters
    ----------
    plan
        The incident plan.
    root
        The replication's seed sequence. Each purpose (:data:`PURPOSES`) gets a 64-bit stream
        key from it, and every vehicle's draws are a function of that key and the vehicle's
        identity (:func:`keyed_uniforms`): adding a purpose, changing a distribution, or
        adding and removing other vehicles leaves a vehicle's draws unchanged.
    n_service
        Checkpoint columns to draw (default: the plan's maximum checkpoints on a route).
    """
    words = root.generate_state(len(PURPOSES) + 2, dtype=np.uint64).tolist()

    def stream(purpose: str, k: int = 0) -> int:
        return (words[PURPOSES[purpose]] + k * 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF

    keys = plan.keys
    cols = 1 + (plan.max_checkpoints if n_service is None else n_service)
    bg_root = np.random.SeedSequence(
        root.entropy, spawn_key=(*root.spawn_key, PURPOSES["background"])
    )
    alert = keyed_uniforms(np.zeros(1, dtype=np.uint64), stream("alert"))
    return Draws(
        alert=float(alert[0]),
        avail=keyed_uniforms(keys, stream("availability")),
        reach=keyed_uniforms(keys, stream("callout", 0)),
        accept=keyed_uniforms(keys, stream("callout", 1)),
        call=keyed_uniforms(keys, stream("callout", 2)),
        mobilisation=keyed_uniforms(keys, stream("mobilisation")),
        trip=keyed_uniforms(keys, stream("travel")),
        service=keyed_uniforms(keys, stream("service"), cols),
        background_seeds=tuple(
            np.random.SeedSequence(
                bg_root.entropy, spawn_key=(*bg_root.spawn_key, name_key(c.name))
            )
            for c in plan.checkpoints
        ),
        response=keyed_uniforms(keys, stream("platform", 0)),
        confirm=keyed_uniforms(keys, stream("platform", 1)),
        shock=shock_uniforms(root),
    )


def shock_uniforms(root: np.random.SeedSequence) -> np.ndarray:
    """The common shocks' uniforms of a replication (:data:`SHOCKS`), keyed by the scenario
    seed and the replication index of ``root`` (:func:`replication_seed`) only."""
    rep = tuple(root.spawn_key[1:])
    words = np.random.SeedSequence(root.entropy, spawn_key=(SHOCK_STREAM, *rep)).generate_state(
        1, dtype=np.uint64
    )
    return keyed_uniforms(np.arange(len(SHOCKS), dtype=np.uint64), int(words[0]))


def name_key(name: str) -> int:
    """Stable 32-bit key of a name (keys the random streams of incidents and checkpoints)."""
    return zlib.crc32(name.encode("utf-8"))


def replication_seed(seed: int, name: str, rep: int) -> np.random.SeedSequence:
    """The seed sequence of replication ``rep`` of incident (stream) ``name``."""
    return np.random.SeedSequence(seed, spawn_key=(name_key(name), rep))
