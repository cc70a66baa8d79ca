"""Assembly targets: tiers, deadlines, depot scope and the success criterion.

The default rule set ``ordos-123`` is the "123" mechanism of the founding article
(中心城区 1 小时、旗级 2 小时、全域 3 小时): an incident in the central urban area must be
assembled within 60 minutes, one at banner level within 120, anywhere else in the region
within 180. "Banner level" is read as the urban area of a banner seat, taken as within
15 km road distance of the seat (ASSUMPTION, DESIGN.md §1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import get_args

import numpy as np

from sim.demand import is_every
from sim.errors import ValidationError
from sim.fields import Fraction, NonNegFloat, PositiveFloat, ScopeName, Tier, record
from sim.network import RoadNetwork

TIERS: tuple[str, ...] = get_args(Tier)
SCOPES: tuple[str, ...] = get_args(ScopeName)


@dataclass(frozen=True)
class TierAssignment:
    """The tier of an incident location and what it implies."""

    tier: str
    deadline_min: float
    zone: str
    scope: str


@record("rules")
class RuleSet:
    """Tier rules, depot scope and the success criterion.

    Parameters
    ----------
    name
        Name of the rule set (``ordos-123`` by default).
    deadlines_min
        Deadline in minutes per tier.
    banner_radius_km
        An incident within this road distance of a banner seat is at banner level.
    scope
        Per tier, which depots may be called: ``central`` (depots in the central urban area),
        ``banner`` (depots in the incident's banner/district) or ``region`` (every depot).
    success_fraction
        The target holds when this fraction of every class's requested vehicles (rounded up)
        is assembled by the deadline; 1.0 means all of them.
    """

    name: str = "ordos-123"
    deadlines_min: dict[Tier, PositiveFloat] = field(
        default_factory=lambda: {"central": 60.0, "banner": 120.0, "region": 180.0}
    )
    banner_radius_km: NonNegFloat = 15.0
    scope: dict[Tier, ScopeName] = field(
        default_factory=lambda: {"central": "region", "banner": "region", "region": "region"}
    )
    success_fraction: Fraction = 1.0

    def __post_init__(self) -> None:
        for key, given in (("deadlines_min", self.deadlines_min), ("scope", self.scope)):
            missing = [t for t in TIERS if t not in given]
            if missing:
                raise ValidationError(f"rules: `{key}`: missing tier {missing[0]!r}")

    def classify(
        self,
        network: RoadNetwork,
        node: int,
        *,
        tier: str | None = None,
        off_road_km: float = 0.0,
    ) -> TierAssignment:
        """Return the tier of an incident at ``node``.

        Parameters
        ----------
        network
            The road network (its nodes carry ``zone`` and ``central``).
        node
            Node index of the incident.
        tier
            Force this tier instead of deriving it from the location.
        off_road_km
            Length of an off-road access leg from ``node`` to the true point (0: the point is
            the node). Such a point is never central, and it is banner-tier only when the
            leg plus the road distance to a seat is within ``banner_radius_km``.

        Raises
        ------
        ValidationError
            If the node lies outside the region (zone ``outside``) or ``tier`` is unknown.
        """
        zone = str(network.zone[node])
        if zone == "outside":
            raise ValidationError(
                f"incident node {int(network.node_ids[node])} lies outside the region "
                f"(zone 'outside'); the tiers apply only inside it"
            )
        if tier is None:
            if bool(network.central[node]) and off_road_km <= 0:
                tier = "central"
            elif self._near_banner_seat(network, node, off_road_km):
                tier = "banner"
            else:
                tier = "region"
        elif tier not in TIERS:
            raise ValidationError(f"incident tier: unknown tier {tier!r}; tiers: {TIERS}")
        return TierAssignment(tier, float(self.deadlines_min[tier]), zone, self.scope[tier])

    def _near_banner_seat(self, network: RoadNetwork, node: int, off_road_km: float) -> bool:
        seats = banner_seats(network)
        if seats.size == 0:
            return False
        radius_m = self.banner_radius_km * 1000.0
        # Seats beyond the radius cannot count: the search stops just past it.
        dist_m = network.road_distance_from(node, limit_m=float(np.nextafter(radius_m, np.inf)))
        return bool(np.min(dist_m[seats]) + off_road_km * 1000.0 <= radius_m)


def banner_seats(network: RoadNetwork) -> np.ndarray:
    """Node indices of the banner/district seats (:attr:`RoadNetwork.seats`)."""
    return network.seats


def depots_in_scope(
    network: RoadNetwork, depot_nodes: np.ndarray, scope: str, incident_zone: str
) -> np.ndarray:
    """Boolean mask of the depots that may be called under ``scope``.

    Parameters
    ----------
    network
        The road network.
    depot_nodes
        Node index of each depot.
    scope
        ``central``, ``banner`` or ``region``.
    incident_zone
        The incident's banner/district.
    """
    if scope == "region":
        return np.ones(len(depot_nodes), dtype=bool)
    if scope == "central":
        return network.central[depot_nodes].astype(bool)
    if scope == "banner":
        return network.zone[depot_nodes] == incident_zone
    raise ValidationError(f"scope: unknown scope {scope!r}; scopes: {SCOPES}")


def demand_shortfall(
    vehicle_class: str,
    demand: int | str,
    *,
    reachable: int,
    in_scope: int,
    fleet_total: int,
    scope: str,
) -> str | None:
    """Whether the vehicles in scope can cover one class's demand; the message when not.

    The one demand check, used when a scenario is validated and when an incident is planned
    (a sweep site's note).

    Parameters
    ----------
    vehicle_class
        The class.
    demand
        The count requested, or a word (``all_in_scope``, ``all_accepted``, ``all``).
    reachable
        Vehicles of the class in scope that can reach the staging point.
    in_scope
        Vehicles of the class in scope.
    fleet_total
        Vehicles of the class in the whole fleet.
    scope
        The depot scope (``central``, ``banner`` or ``region``).

    Returns
    -------
    str or None
        ``None`` when ``reachable`` covers the demand (``all`` needs at least one vehicle),
        else what is wrong and what to change.
    """
    k = vehicle_class
    if is_every(demand):
        if reachable > 0:
            return None
        return (
            f"{demand!r} {k} vehicles in scope '{scope}' that can reach the staging point "
            f"are none ({in_scope} in scope)"
        )
    if int(demand) <= reachable:
        return None
    cut = f" that can reach the staging point ({in_scope} in scope)" if reachable < in_scope else ""
    whole = f" (the whole fleet has {fleet_total})" if fleet_total != reachable else ""
    return (
        f"{k} demand {demand} is above the {reachable} {k} vehicles in scope '{scope}'{cut}"
        f"{whole}: lower the demand, widen the scope or add vehicles"
    )
