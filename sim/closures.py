"""Road closures: which edges a :class:`Closure` closes, and the network without them.

A closure names a numbered road (all of it, or the section between two places) or a radius
around a point; :func:`closure_edges` turns it into edge positions on a network and
:func:`with_closures` returns the network without those edges (through
:meth:`sim.network.RoadNetwork.without_edges`, for every vehicle class)::

    closed = with_closures(network, [Closure(road="G18", between=("xuejiawan", "dafanpu"))])

:func:`opened` gives back the network a closed one was made from; a :class:`ClosureEffect`
(computed by :func:`sim.planning.closure_report`, which knows the incidents and depots) says
what one closure closes and how many candidate routes it changes, and :func:`closure_line`
prints it.

Dependencies point one way: this module uses :mod:`sim.network` (and its
:attr:`~sim.network.RoadNetwork.roads`); nothing there knows about closures.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse.csgraph import dijkstra

from sim.errors import NetworkError, ValidationError
from sim.geo import haversine_m, segment_distance_km
from sim.network import RoadNetwork, parallel_min

__all__ = [
    "Closure",
    "ClosureEffect",
    "closure_edges",
    "closure_line",
    "opened",
    "with_closures",
]

_CLOSURE_SNAP_KM = 10.0  # a `between` place must lie within this distance of the closed road


@dataclass(frozen=True)
class Closure:
    """A road closure: a numbered road (all of it, or the section between two places), or
    every road within a radius of a point.

    Parameters
    ----------
    road
        An edge ``ref`` such as ``"G18"`` (matched case-insensitively against each of the
        ``;``-separated refs of an edge), or an alias of one: an edge's ``name``, ``name:zh``
        (``东康线``) or ``fleetsim:road`` id (``fleetsim network roads`` lists them).
    between
        Two places (names or ``"LAT,LON"``); only the section of ``road`` between them is
        closed. Each place is snapped to the nearest node of the road (great-circle, at most
        10 km away); the section is the shortest path between the two along the road.
    near
        A place or ``"LAT,LON"``: every edge whose straight segment comes within
        ``radius_km`` of it is closed.
    radius_km
        Radius of a ``near`` closure, km (> 0).
    name
        A label for messages.

    Every closure closes both directions and every parallel edge of the roads it selects.
    """

    road: str | None = None
    between: tuple[str, str] | None = None
    near: str | None = None
    radius_km: float | None = None
    name: str = ""

    def __post_init__(self) -> None:
        label = f"closure {self.name!r}" if self.name else "closure"
        if (self.road is None) == (self.near is None):
            raise ValidationError(f"{label}: give either `road` or `near` (and not both)")
        if self.road is not None and (not isinstance(self.road, str) or not self.road.strip()):
            raise ValidationError(f"{label}: `road` must be a road ref, got {self.road!r}")
        if self.between is not None and (self.road is None or len(self.between) != 2):
            raise ValidationError(
                f"{label}: `between` needs `road` and exactly two places, got {self.between!r}"
            )
        if self.near is not None:
            r = self.radius_km
            if not (isinstance(r, int | float) and math.isfinite(r) and r > 0):
                raise ValidationError(f"{label}: `radius_km` must be > 0, got {r!r}")
        elif self.radius_km is not None:
            raise ValidationError(f"{label}: `radius_km` needs `near`")

    @property
    def what(self) -> str:
        """What the closure closes, in words: ``G18 between xuejiawan and dafanpu``,
        ``within 3 km of kangbashi``."""
        if self.road is None:
            return f"within {self.radius_km:g} km of {self.near}"
        if self.between:
            return f"{self.road} between {self.between[0]} and {self.between[1]}"
        return str(self.road)

    @property
    def label(self) -> str:
        """The closure's name, else :attr:`what`."""
        return self.name or self.what


@dataclass(frozen=True)
class ClosureEffect:
    """What one closure closes and which candidate routes it changes.

    Computed once per run by :func:`sim.planning.closure_report`, for each closure on its own
    against the open network.

    Attributes
    ----------
    closure
        The closure.
    edges
        Directed edges closed (both directions and parallel edges count).
    road_km
        Road closed, km: each road between two nodes counted once
        (:func:`sim.network.road_km`).
    routes
        Candidate routes: one per incident, requested class and depot of that class in the
        incident's scope that reaches the staging point on the open network.
    routes_changed
        Candidate routes whose travel time changed (longer, or cut off) or whose fastest
        path on the open network used a closed edge.
    """

    closure: Closure
    edges: int
    road_km: float
    routes: int
    routes_changed: int

    def to_json(self) -> dict[str, Any]:
        """The entry of ``summary.json``'s ``closures`` list (``text`` is :func:`closure_line`)."""
        out: dict[str, Any] = {
            "name": self.closure.label,
            "closes": self.closure.what,
            "edges_closed": self.edges,
            "road_km": round(self.road_km, 3),
            "candidate_routes": self.routes,
            "routes_changed": self.routes_changed,
        }
        out["text"] = closure_line(out)
        return out


def closure_line(entry: Mapping[str, Any]) -> str:
    """One line on a closure, from its ``summary.json`` entry (:meth:`ClosureEffect.to_json`).

    ``closure 'G18 closed at the spill' (G18 between xuejiawan and dafanpu): 31.2 road-km
    closed; 12 of 84 candidate routes changed``.

    Parameters
    ----------
    entry
        The entry: ``name``, ``closes``, ``road_km``, ``candidate_routes``,
        ``routes_changed``.
    """
    what = "" if entry["closes"] == entry["name"] else f" ({entry['closes']})"
    return (
        f"closure {entry['name']!r}{what}: {entry['road_km']:,.1f} road-km closed; "
        f"{entry['routes_changed']:,} of {entry['candidate_routes']:,} candidate routes changed"
    )


def closure_edges(network: RoadNetwork, closure: Closure) -> np.ndarray:
    """Return the positions (in ``graph.edges`` order) of the edges ``closure`` closes.

    Parameters
    ----------
    network
        The network, without the closure.
    closure
        The closure.

    Returns
    -------
    numpy.ndarray
        Sorted ``int64`` edge positions, never empty.

    Raises
    ------
    NetworkError
        For an unknown road ref (listing close matches), an unknown place, a place too
        far from the road, a road that does not join the two places, or a radius that
        contains no road.
    """
    if not isinstance(closure, Closure):
        raise ValidationError(f"`closure` must be a Closure, got {type(closure).__name__}")
    lat, lon = network.lat, network.lon
    edge_u, edge_v = network.edge_u, network.edge_v
    if closure.near is not None:
        lat0, lon0 = network.places.point(closure.near)
        dist_km = segment_distance_km(
            lat0, lon0, lat[edge_u], lon[edge_u], lat[edge_v], lon[edge_v]
        )
        hit = np.flatnonzero(dist_km <= closure.radius_km)
        if hit.size == 0:
            raise NetworkError(
                f"no road within {closure.radius_km:g} km of {closure.near!r} in network "
                f"{network.source!r}"
            )
        return hit
    on_road = network.roads.edge_mask(str(closure.road))
    if on_road.size != network.n_edges:  # a closed copy: the index has the open edges
        raise ValidationError("closures are placed on the open network (see with_closures)")
    if not on_road.any():
        raise NetworkError(network.roads.unknown_road_message(str(closure.road)))
    if closure.between is None:
        return np.flatnonzero(on_road)
    u, v = edge_u[on_road], edge_v[on_road]
    road_nodes = np.unique(np.concatenate([u, v]))
    ends = []
    for place in closure.between:
        node = network.places.locate(place)
        d_km = haversine_m(lat[node], lon[node], lat[road_nodes], lon[road_nodes]) / 1000.0
        k = int(np.argmin(d_km))
        if d_km[k] > _CLOSURE_SNAP_KM:
            raise NetworkError(
                f"{place!r} is {d_km[k]:.1f} km from road {closure.road!r}; name places "
                f"within {_CLOSURE_SNAP_KM:g} km of the road"
            )
        ends.append(int(road_nodes[k]))
    n = network.n_nodes
    both_u, both_v = np.concatenate([u, v]), np.concatenate([v, u])
    length = np.tile(network.edge_length[on_road], 2)
    _, graph = parallel_min(both_u, both_v, length, n)
    _, pred = dijkstra(graph, directed=True, indices=ends[0], return_predecessors=True)
    if ends[0] == ends[1] or pred[ends[1]] < 0:
        why = "meet the road at the same node" if ends[0] == ends[1] else "are not joined"
        raise NetworkError(
            f"road {closure.road!r} between {closure.between[0]!r} and "
            f"{closure.between[1]!r}: the two places {why} along it; no section to close"
        )
    section = set()
    node = ends[1]
    while node != ends[0]:
        prev = int(pred[node])
        section.update({prev * n + node, node * n + prev})
        node = prev
    pair = edge_u * n + edge_v
    return np.flatnonzero(on_road & np.isin(pair, np.fromiter(section, np.int64)))


def with_closures(network: RoadNetwork, closures: Sequence[Closure]) -> RoadNetwork:
    """Return a copy of ``network`` without the edges the ``closures`` close (every class).

    Nodes are kept, so a closure may leave some of them unreachable (infinite times).
    The copy keeps the network's speed profiles; ``with_profiles`` on it keeps the
    closures. The result is cached per network and closures (computed once per process),
    and closing a closed network applies the closures to the open network it came from, so
    the call is idempotent.

    Parameters
    ----------
    network
        The network, without the closures.
    closures
        The closures (see :class:`Closure`).

    Returns
    -------
    RoadNetwork
        The copy, or ``network`` itself when the closures close nothing.

    Raises
    ------
    NetworkError
        As :func:`closure_edges`.
    """
    key = tuple(closures)
    base, applied = _APPLIED.get(network, (network, ()))
    if applied == key:
        return network  # already closed exactly so: applying again changes nothing
    done = _CLOSED.setdefault(base, {})
    if key not in done:
        closed = np.zeros(base.n_edges, dtype=bool)
        for closure in key:
            closed[closure_edges(base, closure)] = True
        net = base.without_edges(np.flatnonzero(closed)) if key else base
        if net is not base:
            _APPLIED[net] = (base, key)
        done[key] = net
    return done[key]


def opened(network: RoadNetwork) -> RoadNetwork:
    """The network that :func:`with_closures` made ``network`` from (itself if it did not).

    Parameters
    ----------
    network
        A network, closed or not.
    """
    return _APPLIED.get(network, (network, ()))[0]


# Closures are applied once per network and set of closures: validation (the demand check after
# closures) and the run share the closed network. A closed network remembers the network it was
# made from, so closing it again with the same closures returns it as it is, and with others
# starts from the open network: closures never stack by accident (closing a removed section
# twice used to fail in compare and sweep).
_CLOSED: weakref.WeakKeyDictionary[RoadNetwork, dict[tuple[Closure, ...], RoadNetwork]] = (
    weakref.WeakKeyDictionary()
)
_APPLIED: weakref.WeakKeyDictionary[RoadNetwork, tuple[RoadNetwork, tuple[Closure, ...]]] = (
    weakref.WeakKeyDictionary()
)
