"""Scenarios: what to simulate, as validated Python objects.

A :class:`Scenario` holds everything a run needs besides the road network: incidents and their
demand, the fleet, the tier rules, time of day, weather, checkpoints, staging, replications
and the seed. Every constructor validates its arguments and names the bad parameter and value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sim._errors import ValidationError
from sim.dists import Dist
from sim.fleet import Fleet, Period, default_fleet
from sim.model import StagingSpec
from sim.targets import SCOPES, RuleSet
from sim.vehicles import check_vehicle_class

Demand = Mapping[str, int | str]


@dataclass(frozen=True)
class Incident:
    """One incident: where, what is requested, and optionally its tier or deadline.

    Parameters
    ----------
    name
        Unique name; it also keys the incident's random streams.
    location
        A place known to the network or ``"LAT,LON"``; the staging point is the nearest node.
    demand
        Vehicles requested per class: a count, or ``"all"`` (every reserve vehicle in scope).
    tier
        Force a tier instead of deriving it from the location.
    deadline_min
        Override the tier's deadline.
    scope
        Override the rule set's depot scope for this incident.
    """

    name: str
    location: str
    demand: Demand
    tier: str | None = None
    deadline_min: float | None = None
    scope: str | None = None

    def __post_init__(self) -> None:
        if not self.demand:
            raise ValidationError(f"incident {self.name!r}: `demand` is empty")
        for k, d in self.demand.items():
            check_vehicle_class(k, parameter=f"incident {self.name!r}: demand")
            if d == "all":
                continue
            if isinstance(d, bool) or not isinstance(d, int) or d < 0:
                raise ValidationError(
                    f"incident {self.name!r}: `demand.{k}` must be an integer >= 0 or 'all', "
                    f"got {d!r}"
                )
        if self.deadline_min is not None and not (
            isinstance(self.deadline_min, int | float) and self.deadline_min > 0
        ):
            raise ValidationError(
                f"incident {self.name!r}: `deadline_min` must be > 0, got {self.deadline_min!r}"
            )
        if self.scope is not None and self.scope not in SCOPES:
            raise ValidationError(
                f"incident {self.name!r}: unknown scope {self.scope!r}; scopes: {SCOPES}"
            )


@dataclass(frozen=True)
class CheckpointSite:
    """A checkpoint or toll plaza placed by location (resolved to a node when prepared)."""

    name: str
    location: str
    lanes: int = 1
    service: Dist = field(default_factory=lambda: Dist.lognormal(1.0, 0.4))
    background_per_min: float = 0.0
    background_service: Dist | None = None
    green: str = "none"
    green_lanes: int = 1
    kind: str = "checkpoint"


@dataclass(frozen=True)
class Scenario:
    """Everything a run needs besides the road network itself.

    The defaults are the documented Ordos assumptions (README, "Model and assumptions").
    """

    name: str
    incidents: tuple[Incident, ...]
    network: str = "ordos"
    fleet: Fleet = field(default_factory=default_fleet)
    rules: RuleSet = field(default_factory=RuleSet)
    start_hour: float = 10.0
    alert: Dist = field(default_factory=lambda: Dist.lognormal(5.0, 0.5))
    over_request: float = 1.1
    trip_factor: Dist = field(default_factory=lambda: Dist.lognormal(1.05, 0.10))
    speed_factor: float = 1.0
    checkpoints: tuple[CheckpointSite, ...] = ()
    staging: StagingSpec = field(default_factory=StagingSpec)
    warmup_min: float = 60.0
    replications: int = 200
    seed: int = 20220630

    def __post_init__(self) -> None:
        if not self.incidents:
            raise ValidationError("scenario: `incidents` is empty")
        names = [i.name for i in self.incidents]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValidationError(f"scenario: duplicate incident names {dup}")
        if not (isinstance(self.start_hour, int | float) and 0 <= self.start_hour < 24):
            raise ValidationError(
                f"scenario: `start_hour` must be in [0, 24), got {self.start_hour!r}"
            )
        if not (isinstance(self.over_request, int | float) and self.over_request >= 1):
            raise ValidationError(
                f"scenario: `over_request` must be >= 1, got {self.over_request!r}"
            )
        if not (isinstance(self.speed_factor, int | float) and self.speed_factor > 0):
            raise ValidationError(
                f"scenario: `speed_factor` must be > 0, got {self.speed_factor!r}"
            )
        if isinstance(self.replications, bool) or not (
            isinstance(self.replications, int) and self.replications >= 1
        ):
            raise ValidationError(
                f"scenario: `replications` must be an integer >= 1, got {self.replications!r}"
            )
        if isinstance(self.seed, bool) or not (isinstance(self.seed, int) and self.seed >= 0):
            raise ValidationError(f"scenario: `seed` must be an integer >= 0, got {self.seed!r}")

    @property
    def period(self) -> Period:
        """``night`` from 22:00 to 06:00, else ``day``."""
        return "night" if (self.start_hour >= 22 or self.start_hour < 6) else "day"
