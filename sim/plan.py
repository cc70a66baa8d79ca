"""Plan records: everything one replication of one incident needs, computed once.

Both engines (:mod:`sim.model`, the SimPy reference, and :mod:`sim.engine`, the heap engine)
consume these records as equals: an :class:`IncidentPlan` (vehicles, ranked candidates,
routes cut into legs at checkpoints, queues, call-out rules) and the replication's
:class:`Draws` (standard uniforms keyed by purpose). :mod:`sim.planning` builds plans from a
scenario and a road network; nothing here knows about either.
"""

from __future__ import annotations

import enum
import zlib
from dataclasses import dataclass, field
from typing import get_args

import numpy as np

from sim.dists import Dist
from sim.fields import Count, DistField, Green, NonNegFloat, PositiveInt, record

GREEN_CHANNELS: tuple[str, ...] = get_args(Green)


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


@record("staging")
class StagingSpec:
    """Registration at the staging point: ``lanes`` parallel lanes, ``service`` minutes each."""

    lanes: PositiveInt = 8
    service: DistField = field(default_factory=lambda: Dist.lognormal(1.0, 0.3))


@dataclass(frozen=True)
class ClassPlan:
    """Per-class part of an incident plan."""

    vehicle_class: str
    requested: int  # vehicles requested (for `all`: every candidate)
    all_in_scope: bool  # demand was `all`
    candidates: np.ndarray  # vehicle indices, best expected arrival first
    initial_calls: int  # acceptances aimed for: ceil(d × over_request), capped
    call: Dist
    mobilisation: Dist
    availability: float
    reach: float
    accept: float


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
    horizon_min: float = 24 * 60.0

    @property
    def n_vehicles(self) -> int:
        """Number of vehicles in the fleet."""
        return int(self.vehicle_depot.size)

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
}


def draw(plan: IncidentPlan, root: np.random.SeedSequence, n_service: int | None = None) -> Draws:
    """Sample the random inputs of one replication.

    Parameters
    ----------
    plan
        The incident plan.
    root
        The replication's seed sequence; one child stream per purpose is derived from it, so
        adding a purpose or changing one distribution leaves the others' draws unchanged.
    n_service
        Checkpoint columns to draw (default: the plan's maximum checkpoints on a route).
    """

    def stream(purpose: str) -> np.random.Generator:
        ss = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, PURPOSES[purpose]))
        return np.random.default_rng(ss)

    n = plan.n_vehicles
    cols = 1 + (plan.max_checkpoints if n_service is None else n_service)
    callout = stream("callout")
    reach, accept, call = uniform(callout, n), uniform(callout, n), uniform(callout, n)
    bg_root = np.random.SeedSequence(
        root.entropy, spawn_key=(*root.spawn_key, PURPOSES["background"])
    )
    return Draws(
        alert=float(uniform(stream("alert"), 1)[0]),
        avail=uniform(stream("availability"), n),
        reach=reach,
        accept=accept,
        call=call,
        mobilisation=uniform(stream("mobilisation"), n),
        trip=uniform(stream("travel"), n),
        service=uniform(stream("service"), (n, cols)),
        background_seeds=tuple(
            np.random.SeedSequence(
                bg_root.entropy, spawn_key=(*bg_root.spawn_key, name_key(c.name))
            )
            for c in plan.checkpoints
        ),
    )


def name_key(name: str) -> int:
    """Stable 32-bit key of a name (keys the random streams of incidents and checkpoints)."""
    return zlib.crc32(name.encode("utf-8"))
