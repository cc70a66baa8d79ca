"""Locations: how far a ``"LAT,LON"`` lies from the road node it snaps to, and the off-road
access leg that may bridge the gap.

Every place of a scenario becomes a road node (:meth:`sim.places.PlaceIndex.locate`); a name
is its node, a point ``"LAT,LON"`` its nearest node. :func:`snap` measures that distance (the
great circle from the point to the node). Beyond the scenario's ``locations.max_snap_km``
(default :data:`DEFAULT_MAX_SNAP_KM`) the scenario is refused (:func:`far_message` names the
point, the distance, the nearest road and place), unless ``locations.access_legs`` is true:
then an incident, staging point or depot that far from the roads is reached by an off-road
*access leg* of ``distance × ACCESS_DETOUR`` km at ``ACCESS_SPEED_KMH``, added to the route
of every vehicle (:func:`access_minutes`; :mod:`sim.planning` adds it to the route legs, so
both engines see it). Checkpoints and sweep grid points never get an access leg.

:func:`point_tier` is the one tier rule of an incident's point, used by validation's demand
check and by the run alike: the tier follows the true point (an access leg counts).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.geo import haversine_m
from sim.network import RoadNetwork
from sim.places import parse_lat_lon
from sim.roads import km_text
from sim.targets import RuleSet, TierAssignment

__all__ = [
    "ACCESS_DETOUR",
    "ACCESS_SPEED_KMH",
    "DEFAULT_MAX_SNAP_KM",
    "Snap",
    "access_km",
    "access_minutes",
    "far_message",
    "point_tier",
    "snap",
]

#: Default largest distance (km) from a ``"LAT,LON"`` to the node it snaps to.
DEFAULT_MAX_SNAP_KM = 2.0
#: Off-road speed of an access leg, km/h (ASSUMPTION: tracks and open ground, every class).
ACCESS_SPEED_KMH = 15.0
#: Off-road length over the great-circle distance of an access leg (ASSUMPTION).
ACCESS_DETOUR = 1.3


@dataclass(frozen=True)
class Snap:
    """Where a place text lands: its node and the great-circle distance to it.

    Attributes
    ----------
    node
        Node index.
    km
        Distance from the point to the node, km (0 for a place name).
    lat, lon
        The true point (the node's coordinates for a place name).
    """

    node: int
    km: float
    lat: float
    lon: float


def snap(network: RoadNetwork, text: str) -> Snap:
    """Return the node a place text snaps to and how far the point lies from it.

    Parameters
    ----------
    network
        The road network.
    text
        A place name or ``"LAT,LON"``.

    Raises
    ------
    NetworkError, ValidationError
        As :meth:`sim.places.PlaceIndex.locate`.
    """
    node = network.places.locate(text)
    point = parse_lat_lon(text)
    nlat, nlon = float(network.lat[node]), float(network.lon[node])
    if point is None:
        return Snap(node, 0.0, nlat, nlon)
    km = float(haversine_m(point[0], point[1], nlat, nlon)) / 1000.0
    return Snap(node, km, float(point[0]), float(point[1]))


def access_km(snap_km: float) -> float:
    """Length of the off-road access leg for a point ``snap_km`` from its node, km."""
    return snap_km * ACCESS_DETOUR


def access_minutes(snap_km: float) -> float:
    """Minutes of the off-road access leg for a point ``snap_km`` from its node."""
    return access_km(snap_km) / ACCESS_SPEED_KMH * 60.0


def point_tier(
    network: RoadNetwork,
    rules: RuleSet,
    text: str,
    *,
    tier: str | None = None,
    max_snap_km: float = DEFAULT_MAX_SNAP_KM,
    access_legs: bool = False,
) -> tuple[TierAssignment, Snap]:
    """The tier of an incident at a place text, from its true point, and the point's snap.

    With ``access_legs`` and the point beyond ``max_snap_km`` of its node, the off-road access
    leg's length counts (:meth:`sim.targets.RuleSet.classify` ``off_road_km``); otherwise the
    point's tier is its node's.

    Parameters
    ----------
    network
        The road network.
    rules
        The scenario's rule set.
    text
        The incident's location, a place name or ``"LAT,LON"``.
    tier
        The incident's forced tier, if any.
    max_snap_km, access_legs
        The scenario's ``locations`` settings.

    Raises
    ------
    NetworkError, ValidationError
        As :func:`snap` and :meth:`sim.targets.RuleSet.classify`.
    """
    at = snap(network, text)
    off_road = access_km(at.km) if access_legs and at.km > max_snap_km else 0.0
    return rules.classify(network, at.node, tier=tier, off_road_km=off_road), at


def far_message(
    network: RoadNetwork, text: str, where: Snap, max_km: float, *, access: bool
) -> str:
    """The problem of a point too far from the roads: distance, nearest road and place.

    Parameters
    ----------
    network
        The road network.
    text
        The place text as written.
    where
        Its :func:`snap`.
    max_km
        The threshold it passes.
    access
        Whether ``locations.access_legs`` could model it (incidents, staging points, depots).
    """
    ref, road_km = network.roads.nearest_road(where.lat, where.lon)
    road = f"road {ref} {km_text(road_km)} away" if ref else f"a road {km_text(road_km)} away"
    node_id = int(network.node_ids[where.node])
    fix = (
        "move it onto a road, raise `locations.max_snap_km`, or set `locations.access_legs: "
        "true` to add an off-road access leg"
        if access
        else "move it onto a road or raise `locations.max_snap_km`"
    )
    return (
        f"{text!r} is {where.km:.1f} km from the road node it snaps to, node {node_id} "
        f"({network.roads.label(where.node)}), more than `locations.max_snap_km` "
        f"{max_km:g} km; the point is {network.roads.point_label(where.lat, where.lon)}, "
        f"nearest {road}; {fix}"
    )
