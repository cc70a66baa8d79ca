"""Road network: loaders, per-class edge speeds, CSR routing, zones and place lookup.

Every source goes through one path and yields the same object, a :class:`RoadNetwork`:

* ``"ordos"``: the embedded coarse Ordos trunk network ``sim/data/ordos.osm`` (an OSM XML
  file, so it takes exactly the same OSMnx path as a user's extract);
* a path ending ``.osm``, ``.osm.bz2`` or ``.osm.xml``: an OpenStreetMap XML extract;
* a path ending ``.graphml``: a graph saved by OSMnx (or by :func:`export`);
* ``"place:<name>"``: an online OSMnx query (explicit opt-in only; never used by default).

Cleaning, applied to every source
---------------------------------
1. **Roads only.** An edge is a road when its ``highway`` tag is drivable under OSMnx's
   ``drive_service`` rules: not ``area=yes``, not ``access=private``, not ``motor_vehicle=no``
   or ``motorcar=no``, not ``service=emergency_access|parking|parking_aisle|private``, and
   ``highway`` not one of :data:`_NON_ROAD_HIGHWAYS` (footway, cycleway, path, track, steps,
   construction, ...). Ways without any ``highway`` tag (railways, buildings, landuse, which an
   OSM XML export contains) are not roads. Nodes left without a road are removed.
2. **One value per tag.** List-valued tags (OSMnx simplification keeps the unique values of
   merged ways in *arbitrary* set order, so "the first" would not be reproducible):
   ``highway`` → the fastest class in :data:`DEFAULT_SPEED_KPH`; ``maxspeed`` → the fastest
   parsed value; ``ref`` → the unique values sorted and joined with ``";"`` (the OSM
   convention for concurrent routes).
3. **Speeds.** ``speed_kph`` is the posted ``maxspeed`` (``"50"``, ``"50;60"`` → 60,
   ``"30 mph"``, ``"60 km/h"``, ``"XX:urban"`` → 50, ``"XX:rural"`` → 80); edges whose
   ``maxspeed`` is missing or unusable (``"none"``, ``"signals"``, ``"variable"``, garbage)
   take :data:`DEFAULT_SPEED_KPH` for their class, and unknown classes take
   :data:`FALLBACK_SPEED_KPH`. Speeds are always recomputed from these tags: a ``speed_kph``
   or ``travel_time`` already in a GraphML file (e.g. from ``osmnx.add_edge_speeds``) is
   overwritten.
4. **Lengths.** ``length`` (m) is OSMnx's great-circle length, multiplied by the way's
   ``fleetsim:circuity`` when present (applied to each raw segment before simplification, so
   merged edges stay exact; the factor is then kept as edge attribute ``circuity`` and never
   applied twice). Edges without a usable length get the great-circle distance of their ends.
5. **Connectivity.** Only the largest strongly connected component is kept, so every node
   reaches every other; :attr:`RoadNetwork.dropped_nodes` says how many nodes that removed.

Per-class speed on an edge is ``min(speed_kph, profile.cap_kmh(highway in
EXPRESSWAY_HIGHWAYS)) * profile.factor`` and its time is ``length / speed``. Routing uses one
CSR matrix per class built once, keeping the **fastest** of parallel edges (and that edge's
length, so path lengths are exact).
"""

from __future__ import annotations

import contextlib
import difflib
import math
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra

from sim.errors import NetworkError, ValidationError
from sim.fields import class_name_problem
from sim.vehicles import (
    DEFAULT_SPEED_PROFILES,
    EXPRESSWAY_HIGHWAYS,
    SpeedProfile,
    check_class,
)

__all__ = [
    "DEFAULT_SPEED_KPH",
    "FALLBACK_SPEED_KPH",
    "Closure",
    "PathTree",
    "RoadNetwork",
    "export",
    "load_network",
]

#: Speed (km/h) of an edge without a usable ``maxspeed``, by OSM ``highway`` class. An
#: assumption, not a survey: free-flow speeds in line with the Chinese limits for unsigned
#: roads (实施条例 第45条: one lane per direction 70 rural / 50 urban; no centre line 40 / 30)
#: and the expressway limits of 第78条; ``_link`` ramps are slower than their road.
DEFAULT_SPEED_KPH: Mapping[str, float] = MappingProxyType(
    {
        "motorway": 110.0,
        "motorway_link": 60.0,
        "trunk": 90.0,
        "trunk_link": 50.0,
        "primary": 70.0,
        "primary_link": 40.0,
        "secondary": 60.0,
        "secondary_link": 40.0,
        "tertiary": 50.0,
        "tertiary_link": 30.0,
        "unclassified": 40.0,
        "road": 40.0,
        "residential": 30.0,
        "service": 20.0,
        "living_street": 10.0,
    }
)

#: Speed (km/h) of an edge whose ``highway`` class is not in :data:`DEFAULT_SPEED_KPH`.
FALLBACK_SPEED_KPH: float = 30.0

# OSMnx `drive_service` exclusions (osmnx/_overpass.py), applied to every source.
_NON_ROAD_HIGHWAYS = frozenset(
    "abandoned bridleway bus_guideway construction corridor cycleway elevator escalator "
    "footway no path pedestrian planned platform proposed raceway razed rest_area services "
    "steps track".split()
)
_EXCLUDED_SERVICE = frozenset({"emergency_access", "parking", "parking_aisle", "private"})

# Tags that must survive OSMnx's XML parser (added to its defaults while loading).
_NODE_TAGS = (
    "name",
    "name:zh",
    "alt_name",
    "fleetsim:place",
    "fleetsim:zone",
    "fleetsim:central",
    "fleetsim:kind",
    "fleetsim:toll",
    "fleetsim:toll_removed",
    "fleetsim:road",
    "barrier",
)
_WAY_TAGS = (
    "name:zh",
    "fleetsim:circuity",
    "fleetsim:basis",
    "fleetsim:maxspeed_basis",
    "fleetsim:confidence",
    "fleetsim:source",
    "fleetsim:road",
    "fleetsim:segment",
    "motor_vehicle",
    "motorcar",
)
# Raw node tag -> normalised node attribute of the cleaned graph.
_NODE_ATTRS = {
    "fleetsim:zone": "zone",
    "fleetsim:central": "central",
    "fleetsim:place": "place",
    "fleetsim:kind": "kind",
    "fleetsim:toll": "toll",
    "fleetsim:toll_removed": "toll_removed",
    "fleetsim:road": "road",
}

_OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.xml")
_ACCEPTED = (
    "'ordos' (the embedded default), a path ending .osm, .osm.bz2, .osm.xml or .graphml, "
    "or 'place:<name>' (online OSMnx query)"
)
_EARTH_RADIUS_M = 6_371_008.8
_MAX_SPEED_KPH = 300.0
_IMPLICIT_MAXSPEED = {"urban": 50.0, "rural": 80.0, "living_street": 20.0}
_UNIT_FACTOR = {"": 1.0, "km/h": 1.0, "kmh": 1.0, "kph": 1.0, "mph": 1.609344, "knots": 1.852}
_MAXSPEED_RE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|mph|knots)?")
_TRUE_STRINGS = frozenset({"yes", "true", "1"})
_SETTINGS_LOCK = threading.Lock()
_TREE_CACHE_BYTES = 256 * 2**20  # budget for cached PathTrees (4 arrays x 8 bytes per node)
_CLOSURE_SNAP_KM = 10.0  # a `between` place must lie within this distance of the closed road


# --------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PathTree:
    """Fastest paths of one vehicle class from every node to one target.

    Arrays are indexed by node index (``0..n-1``) and read-only (trees are cached and shared).

    Attributes
    ----------
    target
        Node index of the target.
    vehicle
        Vehicle class the times are for.
    time_s
        Travel time in seconds from each node to ``target`` (``inf`` if unreachable).
    length_m
        Road length in metres along that fastest path (``inf`` if unreachable).
    next_hop
        The next node index towards ``target``; ``-1`` at the target and for unreachable nodes.
    """

    target: int
    vehicle: str
    time_s: np.ndarray
    length_m: np.ndarray
    next_hop: np.ndarray

    def path(self, source: int) -> np.ndarray:
        """Return the node indices of the fastest path from ``source`` to the target.

        Parameters
        ----------
        source
            Node index to start from.

        Returns
        -------
        numpy.ndarray
            ``int64`` node indices from ``source`` to the target, both included.

        Raises
        ------
        ValidationError
            If ``source`` is not a node index.
        NetworkError
            If the target cannot be reached from ``source``.
        """
        n = self.next_hop.size
        source = _check_index(source, n, "source")
        if not math.isfinite(self.time_s[source]):
            raise NetworkError(
                f"node index {source} cannot reach target node index {self.target} "
                f"(vehicle {self.vehicle!r})"
            )
        nodes = [source]
        node = source
        while node != self.target:
            node = int(self.next_hop[node])
            if node < 0 or len(nodes) > n:  # cannot happen for a tree built by tree_to
                raise NetworkError(f"broken path tree towards node index {self.target}")
            nodes.append(node)
        return np.asarray(nodes, dtype=np.int64)


@dataclass(frozen=True)
class Closure:
    """A road closure: a numbered road (all of it, or the section between two places), or
    every road within a radius of a point.

    Parameters
    ----------
    road
        An edge ``ref`` such as ``"G18"`` (matched case-insensitively against each of the
        ``;``-separated refs of an edge).
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


@dataclass(frozen=True)
class _ClassArrays:
    """Routing arrays of one vehicle class (rows = from, columns = to)."""

    forward: sp.csr_matrix  # min time over parallel edges, entries in _Base.pair order
    reverse: sp.csr_matrix  # the transpose, for all-to-one trees
    pair_length: np.ndarray  # length of the chosen (fastest) parallel edge, per pair
    edge_time: np.ndarray  # time of every graph edge, in graph edge order


@dataclass(frozen=True)
class _Base:
    """Profile-independent arrays, shared by :meth:`RoadNetwork.with_profiles` copies."""

    source: str
    graph: nx.MultiDiGraph  # cleaned; travel_time_* as of the network that built it
    node_ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    zone: np.ndarray
    central: np.ndarray
    index: dict[int, int]
    places: dict[str, int]
    aliases: dict[str, int]  # normalised alias -> node index
    seats: np.ndarray  # node indices of the banner/district seats (fleetsim:kind=seat)
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length: np.ndarray
    edge_speed: np.ndarray
    edge_expressway: np.ndarray
    pair_keys: np.ndarray  # sorted u * n + v of the distinct (u, v) pairs
    length_csr: sp.csr_matrix  # min length over parallel edges
    dropped_nodes: int
    dropped_components: int
    non_road_edges: int
    kdtree: list[Any] = field(default_factory=list)  # built on first nearest_node()


class RoadNetwork:
    """A cleaned, strongly connected road graph with fast per-class routing.

    Build one with :func:`load_network`; the constructor takes an OSMnx-style graph already in
    memory (it is copied, then cleaned as described in the module docstring). A network is
    immutable: its arrays are read-only and its :attr:`graph` is frozen.

    Parameters
    ----------
    graph
        A ``networkx.MultiDiGraph`` in OSMnx conventions: nodes with ``x`` (lon) and ``y``
        (lat) in EPSG:4326, edges with ``highway`` and preferably ``length`` (m).
    source
        A label for where the graph came from (shown by :meth:`info`).
    profiles
        Speed profiles per vehicle class; the default classes not given keep
        :data:`sim.vehicles.DEFAULT_SPEED_PROFILES`, and a class that is not a default one
        (a scenario's own) is routed too.

    Attributes
    ----------
    source : str
        Where the network came from.
    graph : networkx.MultiDiGraph
        The cleaned graph. Node attributes ``x``, ``y``, ``zone`` (banner name, ``"outside"``
        or ``""`` when unknown), ``central`` (bool), ``name``, ``place``, ``kind``, ``toll``
        (``str`` or ``None``); edge attributes ``length`` (m, after circuity), ``highway``
        (str), ``ref`` (str or ``None``), ``speed_kph`` and ``travel_time_<class>`` (s).
    classes : tuple of str
        The vehicle classes it routes: the default classes, then any other class of
        ``profiles``.
    profiles : Mapping[str, SpeedProfile]
        The speed profile of every class.
    dropped_nodes : int
        Road nodes removed because they lie outside the largest strongly connected component.
    n_nodes, n_edges : int
        Size of the cleaned graph (edges counted with their parallel duplicates).
    node_ids : numpy.ndarray
        ``int64`` graph node id of node index ``i``. Every array and method uses indices.
    lat, lon : numpy.ndarray
        Node coordinates in degrees.
    zone : numpy.ndarray
        Node zone names (``str``).
    central : numpy.ndarray
        ``True`` for nodes in the central urban area.
    places : dict[str, int]
        Display name → node index of every named node.
    """

    def __init__(
        self,
        graph: nx.MultiDiGraph,
        *,
        source: str = "graph",
        profiles: Mapping[str, SpeedProfile] | None = None,
    ) -> None:
        if not isinstance(graph, nx.MultiDiGraph):
            raise NetworkError(
                f"RoadNetwork needs a networkx.MultiDiGraph, got {type(graph).__name__}"
            )
        resolved = _resolve_profiles(profiles)
        self._init(_make_base(graph.copy(), str(source), non_road_edges=0), resolved)

    # -- construction helpers ------------------------------------------------------------

    def _init(self, base: _Base, profiles: dict[str, SpeedProfile]) -> None:
        self._base = base
        self._profiles = profiles
        self._classes = {cls: _class_arrays(base, profile) for cls, profile in profiles.items()}
        self._graph: nx.MultiDiGraph | None = None
        if not nx.is_frozen(base.graph):
            # The network that builds the base owns its graph: write its times and freeze it.
            # Copies made by with_profiles() materialise their own graph lazily.
            _write_travel_times(base.graph, self._classes)
            self._graph = nx.freeze(base.graph)
        self._init_caches()

    def _init_caches(self) -> None:
        self._trees: OrderedDict[tuple[int, str], PathTree] = OrderedDict()
        self._tree_max = int(np.clip(_TREE_CACHE_BYTES // max(32 * self.n_nodes, 1), 4, 128))
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # Picklable for process pools and Dask: drop the lock and the path-tree cache.
        state = {k: v for k, v in self.__dict__.items() if k not in {"_trees", "_lock"}}
        state["_graph"] = None if self._graph is self._base.graph else self._graph
        state["_owns_graph"] = self._graph is self._base.graph
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        owns = state.pop("_owns_graph")
        self.__dict__.update(state)
        if owns:
            self._graph = self._base.graph
        self._init_caches()

    @classmethod
    def _from_graph(
        cls,
        graph: nx.MultiDiGraph,
        source: str,
        profiles: Mapping[str, SpeedProfile] | None,
        *,
        non_road_edges: int = 0,
    ) -> RoadNetwork:
        """Build from a graph the caller hands over (cleaned in place, no copy)."""
        resolved = _resolve_profiles(profiles)
        net = cls.__new__(cls)
        net._init(_make_base(graph, source, non_road_edges=non_road_edges), resolved)
        return net

    # -- attributes ----------------------------------------------------------------------

    @property
    def source(self) -> str:
        return self._base.source

    @property
    def graph(self) -> nx.MultiDiGraph:
        if self._graph is None:  # a with_profiles copy: materialise its own times lazily
            graph = self._base.graph.copy()
            _write_travel_times(graph, self._classes)
            self._graph = nx.freeze(graph)
        return self._graph

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self._profiles)

    @property
    def profiles(self) -> Mapping[str, SpeedProfile]:
        return MappingProxyType(self._profiles)

    @property
    def dropped_nodes(self) -> int:
        return self._base.dropped_nodes

    @property
    def n_nodes(self) -> int:
        return int(self._base.node_ids.size)

    @property
    def n_edges(self) -> int:
        return int(self._base.edge_u.size)

    @property
    def node_ids(self) -> np.ndarray:
        return self._base.node_ids

    @property
    def lat(self) -> np.ndarray:
        return self._base.lat

    @property
    def lon(self) -> np.ndarray:
        return self._base.lon

    @property
    def zone(self) -> np.ndarray:
        return self._base.zone

    @property
    def central(self) -> np.ndarray:
        return self._base.central

    @property
    def places(self) -> dict[str, int]:
        return dict(self._base.places)

    @property
    def seats(self) -> np.ndarray:
        """Node indices of the banner/district seats (nodes tagged ``fleetsim:kind=seat``;
        none on a network without that tag)."""
        return self._base.seats

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """``(south, west, north, east)`` of the nodes, in degrees."""
        lat, lon = self._base.lat, self._base.lon
        return (float(lat.min()), float(lon.min()), float(lat.max()), float(lon.max()))

    def __repr__(self) -> str:
        return (
            f"RoadNetwork(source={self.source!r}, nodes={self.n_nodes}, edges={self.n_edges}, "
            f"dropped_nodes={self.dropped_nodes})"
        )

    # -- lookup --------------------------------------------------------------------------

    def index_of(self, node_id: int) -> int:
        """Return the node index of graph node id ``node_id``.

        Raises
        ------
        NetworkError
            If ``node_id`` is not a node of this network.
        """
        try:
            return self._base.index[int(node_id)]
        except (KeyError, TypeError, ValueError):
            raise NetworkError(
                f"node id {node_id!r} is not in the network {self.source!r}"
            ) from None

    def nearest_node(self, lat: float, lon: float) -> int:
        """Return the index of the node nearest to (``lat``, ``lon``) by great-circle distance.

        Parameters
        ----------
        lat, lon
            WGS84 coordinates in degrees.

        Raises
        ------
        ValidationError
            If the coordinates are not finite or out of range.
        """
        lat, lon = _check_latlon(lat, lon)
        if not self._base.kdtree:  # shared by with_profiles() copies
            from scipy.spatial import cKDTree

            self._base.kdtree.append(cKDTree(_unit_vectors(self._base.lat, self._base.lon)))
        _, index = self._base.kdtree[0].query(_unit_vectors(np.array([lat]), np.array([lon]))[0])
        return int(index)

    def locate(self, text: str) -> int:
        """Return the node index for a place name or a ``"LAT,LON"`` string.

        Names match case-insensitively (``_`` and ``-`` count as spaces) against the display
        name, the ``fleetsim:place`` id, ``name:zh`` and every ``alt_name`` alias. A
        coordinate pair gives the nearest node, if it lies within the network's bounding
        box plus a margin of 10 % of its extent (at least 0.01°).

        Raises
        ------
        NetworkError
            For an unknown name (listing close matches) or a point outside the bounding box.
        ValidationError
            If ``text`` is not a string or the coordinates are out of range.
        """
        if not isinstance(text, str) or not text.strip():
            raise ValidationError(f"place must be a name or 'LAT,LON', got {text!r}")
        point = _parse_latlon(text)
        if point is not None:
            lat, lon = _check_latlon(*point)
            south, west, north, east = self.bbox
            margin_lat = max(0.01, 0.1 * (north - south))
            margin_lon = max(0.01, 0.1 * (east - west))
            inside = (south - margin_lat <= lat <= north + margin_lat) and (
                west - margin_lon <= lon <= east + margin_lon
            )
            if not inside:
                raise NetworkError(
                    f"point {lat:.5f},{lon:.5f} is outside the network {self.source!r}: its "
                    f"bounding box is south {south:.5f}, west {west:.5f}, north {north:.5f}, "
                    f"east {east:.5f}"
                )
            return self.nearest_node(lat, lon)
        key = _normalise_name(text)
        index = self._base.aliases.get(key)
        if index is not None:
            return index
        raise NetworkError(self._unknown_place_message(text, key))

    def _unknown_place_message(self, text: str, key: str) -> str:
        names = {idx: name for name, idx in self._base.places.items()}
        close = difflib.get_close_matches(key, list(self._base.aliases), n=8, cutoff=0.6)
        suggestions = list(dict.fromkeys(names[self._base.aliases[c]] for c in close))[:5]
        message = f"unknown place {text!r} in network {self.source!r}"
        if suggestions:
            return f"{message}; did you mean: {', '.join(suggestions)}?"
        if not names:
            return f"{message}; it has no named places, give a point as 'LAT,LON'"
        known = sorted(self._base.places)
        listed = ", ".join(known[:10]) + (f", ... ({len(known)} in all)" if len(known) > 10 else "")
        return f"{message}; known places: {listed}; or give a point as 'LAT,LON'"

    # -- routing -------------------------------------------------------------------------

    def tree_to(self, target: int, vehicle: str) -> PathTree:
        """Return the fastest paths of class ``vehicle`` from every node to ``target``.

        One reverse Dijkstra on the transposed CSR matrix of the class; results are kept in a
        small LRU cache per network.

        Parameters
        ----------
        target
            Node index of the target.
        vehicle
            Vehicle class, one of :attr:`classes`.

        Raises
        ------
        ValidationError
            For an unknown class or a node index out of range.
        """
        vehicle = check_class(vehicle, self._profiles)
        target = _check_index(target, self.n_nodes, "target")
        key = (target, vehicle)
        with self._lock:
            tree = self._trees.get(key)
            if tree is not None:
                self._trees.move_to_end(key)
                return tree
        tree = self._build_tree(target, vehicle)
        with self._lock:
            self._trees[key] = tree
            while len(self._trees) > self._tree_max:
                self._trees.popitem(last=False)
        return tree

    def _build_tree(self, target: int, vehicle: str) -> PathTree:
        arrays = self._classes[vehicle]
        time_s, pred = dijkstra(
            arrays.reverse, directed=True, indices=target, return_predecessors=True
        )
        next_hop = pred.astype(np.int64)
        next_hop[next_hop < 0] = -1
        n = self.n_nodes
        step = np.zeros(n)
        has = next_hop >= 0
        pos = np.searchsorted(self._base.pair_keys, np.flatnonzero(has) * n + next_hop[has])
        step[has] = arrays.pair_length[pos]
        length_m = _sum_to_root(next_hop, step)
        length_m[~np.isfinite(time_s)] = np.inf
        for array in (time_s, length_m, next_hop):
            array.flags.writeable = False
        return PathTree(target, vehicle, time_s, length_m, next_hop)

    def times_to(self, targets: Sequence[int], vehicle: str) -> np.ndarray:
        """Return travel times (s) from every node to each of ``targets``.

        Parameters
        ----------
        targets
            Node indices.
        vehicle
            Vehicle class.

        Returns
        -------
        numpy.ndarray
            Shape ``(len(targets), n_nodes)``; row ``k`` holds the time from every node to
            ``targets[k]`` (``inf`` if unreachable), from a single scipy ``dijkstra`` call.
        """
        vehicle = check_class(vehicle, self._profiles)
        idx = np.asarray([_check_index(t, self.n_nodes, "targets") for t in targets], np.int64)
        if idx.size == 0:
            return np.empty((0, self.n_nodes))
        times = dijkstra(self._classes[vehicle].reverse, directed=True, indices=idx)
        return np.asarray(times, dtype=np.float64).reshape(idx.size, self.n_nodes)

    def road_distance_from(self, source: int) -> np.ndarray:
        """Return the shortest road distance (m) from ``source`` to every node.

        Distances follow the direction of travel (one-way streets respected) and are
        independent of vehicle class.
        """
        source = _check_index(source, self.n_nodes, "source")
        return dijkstra(self._base.length_csr, directed=True, indices=source)

    def edge_times(self, vehicle: str) -> sp.csr_matrix:
        """Return a copy of the class's edge-time matrix (s; row = from, column = to).

        Parallel edges are reduced to the fastest; zero-time entries are real edges.
        """
        vehicle = check_class(vehicle, self._profiles)
        return self._classes[vehicle].forward.copy()

    def with_profiles(self, profiles: Mapping[str, SpeedProfile]) -> RoadNetwork:
        """Return a copy with other speed profiles, sharing every profile-independent array.

        Parameters
        ----------
        profiles
            Profiles per class; the default classes not given keep
            :data:`sim.vehicles.DEFAULT_SPEED_PROFILES`, other classes are added.
        """
        resolved = _resolve_profiles(profiles)
        net = RoadNetwork.__new__(RoadNetwork)
        net._init(self._base, resolved)
        return net

    def closure_edges(self, closure: Closure) -> np.ndarray:
        """Return the positions (in ``graph.edges`` order) of the edges ``closure`` closes.

        Parameters
        ----------
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
        base = self._base
        if closure.near is not None:
            node = self.locate(closure.near)
            point = _parse_latlon(closure.near)
            lat0, lon0 = point if point is not None else (base.lat[node], base.lon[node])
            dist_km = _segment_distance_km(
                lat0,
                lon0,
                base.lat[base.edge_u],
                base.lon[base.edge_u],
                base.lat[base.edge_v],
                base.lon[base.edge_v],
            )
            hit = np.flatnonzero(dist_km <= closure.radius_km)
            if hit.size == 0:
                raise NetworkError(
                    f"no road within {closure.radius_km:g} km of {closure.near!r} in network "
                    f"{self.source!r}"
                )
            return hit
        ref = _normalise_name(str(closure.road))
        refs = [
            {_normalise_name(r) for r in str(data.get("ref") or "").split(";") if r.strip()}
            for _, _, data in base.graph.edges(data=True)
        ]
        on_road = np.array([ref in r for r in refs], dtype=bool)
        if not on_road.any():
            known = sorted(
                {
                    r
                    for _, _, d in base.graph.edges(data=True)
                    for r in str(d.get("ref") or "").split(";")
                    if r.strip()
                }
            )
            close = difflib.get_close_matches(str(closure.road), known, n=5, cutoff=0.5)
            listed = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
            hint = f"did you mean: {', '.join(close)}?" if close else f"refs: {listed or 'none'}"
            raise NetworkError(
                f"no road with ref {closure.road!r} in network {self.source!r}; {hint}"
            )
        if closure.between is None:
            return np.flatnonzero(on_road)
        u, v = base.edge_u[on_road], base.edge_v[on_road]
        road_nodes = np.unique(np.concatenate([u, v]))
        ends = []
        for place in closure.between:
            node = self.locate(place)
            d_km = (
                _haversine(
                    base.lat[node], base.lon[node], base.lat[road_nodes], base.lon[road_nodes]
                )
                / 1000.0
            )
            k = int(np.argmin(d_km))
            if d_km[k] > _CLOSURE_SNAP_KM:
                raise NetworkError(
                    f"{place!r} is {d_km[k]:.1f} km from road {closure.road!r}; name places "
                    f"within {_CLOSURE_SNAP_KM:g} km of the road"
                )
            ends.append(int(road_nodes[k]))
        n = self.n_nodes
        both_u, both_v = np.concatenate([u, v]), np.concatenate([v, u])
        length = np.tile(base.edge_length[on_road], 2)
        _, graph = _pairs(both_u, both_v, length, n)
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
        pair = base.edge_u * n + base.edge_v
        return np.flatnonzero(on_road & np.isin(pair, np.fromiter(section, np.int64)))

    def with_closures(self, closures: Sequence[Closure]) -> RoadNetwork:
        """Return a copy without the edges the ``closures`` close (every vehicle class).

        Nodes are kept, so a closure may leave some of them unreachable (infinite times).
        The copy keeps this network's speed profiles; :meth:`with_profiles` on it keeps the
        closures. Apply closures to the network *without* them: closing twice fails when a
        ``between`` section was already removed.

        Parameters
        ----------
        closures
            The closures (see :class:`Closure`).

        Raises
        ------
        NetworkError
            As :meth:`closure_edges`.
        """
        closed = np.zeros(self.n_edges, dtype=bool)
        for closure in closures:
            closed[self.closure_edges(closure)] = True
        if not closed.any():
            return self
        base = self._base
        graph = base.graph.copy()
        edges = list(graph.edges(keys=True))
        graph.remove_edges_from([edges[j] for j in np.flatnonzero(closed).tolist()])
        keep = ~closed
        arrays = {
            name: getattr(base, name)[keep].copy()
            for name in ("edge_u", "edge_v", "edge_length", "edge_speed", "edge_expressway")
        }
        for array in arrays.values():
            array.flags.writeable = False
        pair_keys, length_csr = _pairs(
            arrays["edge_u"], arrays["edge_v"], arrays["edge_length"], self.n_nodes
        )
        new_base = replace(base, graph=graph, pair_keys=pair_keys, length_csr=length_csr, **arrays)
        net = RoadNetwork.__new__(RoadNetwork)
        net._init(new_base, dict(self._profiles))
        return net

    # -- summary -------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """Return a JSON-ready summary of the network.

        Keys: ``source``, ``nodes``, ``edges``, ``dropped_nodes``, ``dropped_components``
        (outside the largest strongly connected component), ``non_road_edges`` (removed by
        the road filter), ``bbox`` (south, west, north, east), ``nodes_per_zone``,
        ``central_nodes``, ``named_places``, ``seats``, ``road_km`` (each road between two
        nodes counted once, whatever its directions and parallel duplicates).
        """
        base = self._base
        zones, counts = np.unique(base.zone, return_counts=True)
        seats = [
            data["name"] or data["place"] or str(node)
            for node in base.node_ids[base.seats].tolist()
            for data in (base.graph.nodes[node],)
        ]
        return {
            "source": base.source,
            "nodes": self.n_nodes,
            "edges": self.n_edges,
            "dropped_nodes": base.dropped_nodes,
            "dropped_components": base.dropped_components,
            "non_road_edges": base.non_road_edges,
            "bbox": list(self.bbox),
            "nodes_per_zone": {str(z): int(c) for z, c in zip(zones, counts, strict=True)},
            "central_nodes": int(base.central.sum()),
            "named_places": len(base.places),
            "seats": seats,
            "road_km": round(_road_km(base), 3),
        }


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load_network(
    source: str | os.PathLike[str] = "ordos",
    *,
    profiles: Mapping[str, SpeedProfile] | None = None,
) -> RoadNetwork:
    """Load a road network from the embedded default, a file or an online query.

    Parameters
    ----------
    source
        ``"ordos"`` (the embedded coarse Ordos trunk network), a path ending ``.osm``,
        ``.osm.bz2``, ``.osm.xml`` (OSM XML) or ``.graphml`` (OSMnx GraphML), or
        ``"place:<name>"`` for an online OSMnx ``graph_from_place`` query (needs internet).
    profiles
        Speed profiles per vehicle class; the default classes not given keep
        :data:`sim.vehicles.DEFAULT_SPEED_PROFILES`, other classes are added.

    Returns
    -------
    RoadNetwork
        The cleaned network (see the module docstring for what cleaning does).

    Raises
    ------
    NetworkError
        If the source is not one of the accepted forms, the file is missing or unreadable,
        or it holds no drivable road.
    """
    resolved = _resolve_profiles(profiles)
    if isinstance(source, str) and source == "ordos":
        ref = resources.files("sim").joinpath("data", "ordos.osm")
        if not ref.is_file():
            raise NetworkError(
                "the embedded default network sim/data/ordos.osm is missing from the package"
            )
        with resources.as_file(ref) as path:
            graph, removed = _read_osm_xml(path)
        return RoadNetwork._from_graph(graph, "ordos", resolved, non_road_edges=removed)
    if isinstance(source, str) and source.startswith("place:"):
        graph, removed = _read_place(source.removeprefix("place:").strip())
        return RoadNetwork._from_graph(graph, source, resolved, non_road_edges=removed)
    if not isinstance(source, str | os.PathLike):
        raise NetworkError(f"network source must be a string or path, got {source!r}")
    path = Path(source)
    name = path.name.lower()
    if name.endswith(_OSM_SUFFIXES):
        reader = _read_osm_xml
    elif name.endswith(".graphml"):
        reader = _read_graphml
    else:
        raise NetworkError(f"unrecognised network source {str(source)!r}; expected {_ACCEPTED}")
    if not path.is_file():
        raise NetworkError(f"network file not found: {path}")
    graph, removed = reader(path)
    return RoadNetwork._from_graph(graph, str(source), resolved, non_road_edges=removed)


_NETWORKS: dict[tuple, RoadNetwork] = {}  # cached_network()


def cached_network(source: str) -> RoadNetwork:
    """:func:`load_network` of ``source`` with the default profiles, loaded once per process.

    Validation of a scenario file and the run that follows share one load (and one
    cleaning). A file source is keyed by its path, modification time and size, so an edited
    file is loaded again; the four most recent networks are kept.
    """
    try:
        st = os.stat(source)
        key: tuple = (source, st.st_mtime_ns, st.st_size)
    except OSError:
        key = (source,)
    net = _NETWORKS.get(key)
    if net is None:
        net = load_network(source)
        if len(_NETWORKS) >= 4:
            _NETWORKS.pop(next(iter(_NETWORKS)))
        _NETWORKS[key] = net
    return net


@contextlib.contextmanager
def _osmnx_tags() -> Iterator[Any]:
    """Temporarily extend OSMnx's kept node/way tags with fleetsim's (restored afterwards)."""
    import osmnx as ox

    settings = ox.settings
    with _SETTINGS_LOCK:  # OSMnx settings are process-global
        old_node, old_way = settings.useful_tags_node, settings.useful_tags_way
        settings.useful_tags_node = list(dict.fromkeys([*old_node, *_NODE_TAGS]))
        settings.useful_tags_way = list(dict.fromkeys([*old_way, *_WAY_TAGS]))
        try:
            yield ox
        finally:
            settings.useful_tags_node, settings.useful_tags_way = old_node, old_way


def _read_osm_xml(path: Path) -> tuple[nx.MultiDiGraph, int]:
    with _osmnx_tags() as ox:
        try:
            graph = ox.graph_from_xml(path, simplify=False, retain_all=True)
        except Exception as exc:  # XML, bz2 and OSMnx errors all mean "unreadable"
            raise NetworkError(f"cannot read OSM XML file {path}: {exc}") from exc
    return _simplify(graph)


def _read_graphml(path: Path) -> tuple[nx.MultiDiGraph, int]:
    import osmnx as ox

    try:
        graph = ox.load_graphml(path)
    except Exception as exc:  # XML, type-conversion and OSMnx errors
        raise NetworkError(f"cannot read GraphML file {path}: {exc}") from exc
    return graph, 0


def _read_place(name: str) -> tuple[nx.MultiDiGraph, int]:
    if not name:
        raise NetworkError(f"empty place query; expected {_ACCEPTED}")
    with _osmnx_tags() as ox:
        try:
            graph = ox.graph_from_place(name, network_type="drive", simplify=False, retain_all=True)
        except Exception as exc:  # network, geocoding and OSMnx errors
            raise NetworkError(f"online OSMnx query for place {name!r} failed: {exc}") from exc
    return _simplify(graph)


def _simplify(graph: nx.MultiDiGraph) -> tuple[nx.MultiDiGraph, int]:
    """Drop non-roads, apply circuity per raw segment, then simplify keeping class bounds."""
    import osmnx as ox

    removed = _drop_non_roads(graph)
    for _, _, data in graph.edges(data=True):
        _apply_circuity(data)
    if graph.number_of_edges() == 0:
        return graph, removed
    graph = ox.simplify_graph(
        graph,
        node_attrs_include=["fleetsim:zone"],
        edge_attrs_differ=["highway", "ref", "maxspeed"],
    )
    return graph, removed


# --------------------------------------------------------------------------------------------
# Cleaning
# --------------------------------------------------------------------------------------------


def _first(value: Any) -> Any:
    if isinstance(value, list | tuple | set):
        return sorted(value, key=str)[0] if value else None
    return value


def _text(value: Any) -> str | None:
    value = _first(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _road_class(data: Mapping[str, Any]) -> str | None:
    """Return the edge's drivable highway class, or ``None`` if it is not a road."""
    if str(_first(data.get("area", ""))).lower() == "yes":
        return None
    if str(_first(data.get("access", ""))).lower() == "private":
        return None
    for tag in ("motor_vehicle", "motorcar"):
        if str(_first(data.get(tag, ""))).lower() == "no":
            return None
    if str(_first(data.get("service", ""))).lower() in _EXCLUDED_SERVICE:
        return None
    values = data.get("highway")
    if isinstance(values, str) and values.startswith("["):  # a stringified list
        values = _literal_list(values)
    if not isinstance(values, list | tuple | set):
        values = [values]
    classes = [str(v).strip() for v in values if v is not None and str(v).strip()]
    drivable = [c for c in classes if c not in _NON_ROAD_HIGHWAYS]
    if not drivable:
        return None
    # fastest class first, ties by name: reproducible whatever the list order
    return min(drivable, key=lambda c: (-DEFAULT_SPEED_KPH.get(c, FALLBACK_SPEED_KPH), c))


def _literal_list(text: str) -> Any:
    import ast

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, list | tuple | set) else text


def _parse_maxspeed(value: Any) -> float | None:
    """Return the posted speed in km/h, or ``None`` if ``value`` gives no usable speed.

    Lists and ``"a;b"`` give the fastest usable value; units ``mph`` and ``knots`` are
    converted; ``"XX:urban"`` is 50, ``"XX:rural"`` 80, ``"XX:living_street"`` 20;
    ``"none"``, ``"signals"``, ``"variable"`` and anything else give ``None``.
    """
    if value is None:
        return None
    if isinstance(value, str) and value.startswith("["):
        value = _literal_list(value)
    if isinstance(value, list | tuple | set):
        parsed = [_parse_maxspeed(v) for v in value]
        usable = [v for v in parsed if v is not None]
        return max(usable) if usable else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        speed = float(value)
        return speed if 0 < speed <= _MAX_SPEED_KPH else None
    text = str(value).strip().lower()
    if any(sep in text for sep in ";|"):
        return _parse_maxspeed(re.split(r"[;|]", text))
    if ":" in text:
        return _IMPLICIT_MAXSPEED.get(text.split(":", 1)[1].strip())
    match = _MAXSPEED_RE.fullmatch(text)
    if match is None:
        return None
    speed = float(match.group(1).replace(",", ".")) * _UNIT_FACTOR[match.group(2) or ""]
    return speed if 0 < speed <= _MAX_SPEED_KPH else None


def _parse_positive(value: Any) -> float | None:
    try:
        number = float(_first(value))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _apply_circuity(data: dict[str, Any]) -> None:
    """Multiply ``length`` by the raw ``fleetsim:circuity`` tag once, keeping it as ``circuity``."""
    if "fleetsim:circuity" not in data:
        return
    factor = _parse_positive(data.pop("fleetsim:circuity"))
    if factor is None or "circuity" in data:  # unusable, or already applied
        return
    length = _parse_positive(data.get("length"))
    if length is not None:
        data["length"] = length * factor
    data["circuity"] = factor


def _drop_non_roads(graph: nx.MultiDiGraph) -> int:
    """Remove non-road edges, then nodes without a road; return the number of edges removed."""
    bad = [(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True) if _road_class(d) is None]
    graph.remove_edges_from(bad)
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
    return len(bad)


def _normalise_node(data: dict[str, Any]) -> None:
    for raw, attr in _NODE_ATTRS.items():
        if raw in data:
            value = data.pop(raw)
            data.setdefault(attr, value)
    zone = _text(data.get("zone"))
    data["zone"] = zone or ""
    central = _first(data.get("central"))
    data["central"] = central is True or str(central).strip().lower() in _TRUE_STRINGS
    for attr in ("name", "place", "kind", "toll", "toll_removed", "road"):
        data[attr] = _text(data.get(attr))


def _make_base(graph: nx.MultiDiGraph, source: str, *, non_road_edges: int) -> _Base:
    """Clean ``graph`` in place and compute every profile-independent array."""
    import osmnx as ox

    crs = graph.graph.get("crs", "epsg:4326")
    try:
        projected = ox.projection.is_projected(crs)
    except Exception:  # an unparsable CRS string
        projected = True
    if projected:
        raise NetworkError(
            f"network {source!r} has CRS {crs!r}; fleetsim needs unprojected lon/lat "
            "(EPSG:4326) coordinates"
        )
    graph.graph["crs"] = crs
    non_road_edges += _drop_non_roads(graph)
    if graph.number_of_edges() == 0:
        raise NetworkError(
            f"network {source!r} has no drivable road (edges with a drivable `highway` tag)"
        )

    nodes = list(graph.nodes)
    try:
        node_ids = np.fromiter((_int_id(n) for n in nodes), dtype=np.int64, count=len(nodes))
    except (TypeError, ValueError, OverflowError):
        raise NetworkError(f"network {source!r}: node ids must be integers") from None
    try:
        lon = np.array([float(graph.nodes[n]["x"]) for n in nodes])
        lat = np.array([float(graph.nodes[n]["y"]) for n in nodes])
    except (KeyError, TypeError, ValueError):
        raise NetworkError(
            f"network {source!r}: every node needs numeric `x` (lon) and `y` (lat)"
        ) from None
    if not (np.isfinite(lat).all() and np.isfinite(lon).all()):
        raise NetworkError(f"network {source!r}: node coordinates must be finite")

    # Largest strongly connected component, on a structure-only CSR.
    position = {n: i for i, n in enumerate(nodes)}
    eu = np.fromiter((position[u] for u, _ in graph.edges()), np.int64, graph.number_of_edges())
    ev = np.fromiter((position[v] for _, v in graph.edges()), np.int64, graph.number_of_edges())
    adjacency = sp.csr_matrix((np.ones(eu.size), (eu, ev)), shape=(len(nodes), len(nodes)))
    n_comp, labels = connected_components(adjacency, directed=True, connection="strong")
    sizes = np.bincount(labels)
    keep = labels == int(np.argmax(sizes))
    dropped_nodes = int((~keep).sum())
    if dropped_nodes:
        graph.remove_nodes_from([n for n, k in zip(nodes, keep, strict=True) if not k])
        nodes = [n for n, k in zip(nodes, keep, strict=True) if k]
        node_ids, lat, lon = node_ids[keep], lat[keep], lon[keep]
    n = len(nodes)
    index = {int(node_id): i for i, node_id in enumerate(node_ids)}

    # Node attributes, places and aliases.
    for node in nodes:
        _normalise_node(graph.nodes[node])
    zone = np.array([graph.nodes[nd]["zone"] for nd in nodes], dtype=np.str_)
    central = np.array([graph.nodes[nd]["central"] for nd in nodes], dtype=bool)
    places, aliases = _place_index(graph, nodes)

    # Edges: class, length, speed.
    m = graph.number_of_edges()
    edge_u = np.empty(m, np.int64)
    edge_v = np.empty(m, np.int64)
    edge_length = np.empty(m)
    edge_speed = np.empty(m)
    expressway = np.empty(m, bool)
    for j, (u, v, data) in enumerate(graph.edges(data=True)):
        _apply_circuity(data)
        highway = _road_class(data)
        assert highway is not None  # non-roads were dropped above
        iu, iv = index[_int_id(u)], index[_int_id(v)]
        length = _parse_positive(data.get("length"))
        if length is None:
            length = 0.0 if iu == iv else float(_haversine(lat[iu], lon[iu], lat[iv], lon[iv]))
        posted = _parse_maxspeed(data.get("maxspeed"))
        speed = posted or DEFAULT_SPEED_KPH.get(highway, FALLBACK_SPEED_KPH)
        refs = data.get("ref")
        if isinstance(refs, list | tuple | set):
            refs = ";".join(sorted({str(r) for r in refs if r is not None}))
        data.pop("travel_time", None)  # a class-less OSMnx time would be stale
        data.update(highway=highway, length=float(length), speed_kph=float(speed))
        data["ref"] = _text(refs)
        edge_u[j], edge_v[j] = iu, iv
        edge_length[j], edge_speed[j] = length, speed
        expressway[j] = highway in EXPRESSWAY_HIGHWAYS

    pair_keys, length_csr = _pairs(edge_u, edge_v, edge_length, n)

    for array in (
        node_ids,
        lat,
        lon,
        zone,
        central,
        edge_u,
        edge_v,
        edge_length,
        edge_speed,
        expressway,
    ):
        array.flags.writeable = False
    return _Base(
        source=source,
        graph=graph,
        node_ids=node_ids,
        lat=lat,
        lon=lon,
        zone=zone,
        central=central,
        index=index,
        places=places,
        aliases=aliases,
        seats=np.asarray(
            [i for i, n in enumerate(nodes) if graph.nodes[n].get("kind") == "seat"],
            dtype=np.int64,
        ),
        edge_u=edge_u,
        edge_v=edge_v,
        edge_length=edge_length,
        edge_speed=edge_speed,
        edge_expressway=expressway,
        pair_keys=pair_keys,
        length_csr=length_csr,
        dropped_nodes=dropped_nodes,
        dropped_components=int(n_comp - 1),
        non_road_edges=int(non_road_edges),
    )


def _int_id(node: Any) -> int:
    if isinstance(node, bool):
        raise TypeError("boolean node id")
    if isinstance(node, int | np.integer):
        return int(node)
    if isinstance(node, str) and node.strip().lstrip("-").isdigit():
        return int(node)
    raise TypeError(f"node id {node!r} is not an integer")


def _place_index(graph: nx.MultiDiGraph, nodes: list[Any]) -> tuple[dict[str, int], dict[str, int]]:
    """Display names and normalised aliases of the named nodes (first node wins on clashes)."""
    places: dict[str, int] = {}
    aliases: dict[str, int] = {}
    records = []
    for i, node in enumerate(nodes):
        data = graph.nodes[node]
        zh = _text(data.get("name:zh"))
        display = data["name"] or data["place"] or zh
        if display is None:
            continue
        places.setdefault(display, i)
        alt = data.get("alt_name")
        alts = alt if isinstance(alt, list | tuple) else str(alt or "").split(";")
        records.append((i, display, data["place"], zh, [a for a in alts if str(a).strip()]))
    # Priority: display names, then place ids, then Chinese names, then alt_name aliases.
    for i, display, *_ in records:
        aliases.setdefault(_normalise_name(display), i)
    for i, _, place, *_ in records:
        if place:
            aliases.setdefault(_normalise_name(place), i)
    for i, _, _, zh, _ in records:
        if zh:
            aliases.setdefault(_normalise_name(zh), i)
    for i, *_, alts in records:
        for alt in alts:
            aliases.setdefault(_normalise_name(str(alt)), i)
    aliases.pop("", None)
    return places, aliases


def _normalise_name(text: str) -> str:
    return " ".join(re.sub(r"[_\-]", " ", text).casefold().split())


def _resolve_profiles(profiles: Mapping[str, SpeedProfile] | None) -> dict[str, SpeedProfile]:
    merged = dict(DEFAULT_SPEED_PROFILES)
    if profiles is not None:
        if not isinstance(profiles, Mapping):
            raise ValidationError(
                f"`profiles` must map vehicle class to SpeedProfile, got {type(profiles).__name__}"
            )
        for cls, profile in profiles.items():
            problem = class_name_problem(cls)
            if problem:
                raise ValidationError(f"`profiles[{cls!r}]`: {problem}")
            if not isinstance(profile, SpeedProfile):
                raise ValidationError(
                    f"`profiles[{cls!r}]` must be a SpeedProfile, got {type(profile).__name__}"
                )
            merged[cls] = profile
    return merged


# --------------------------------------------------------------------------------------------
# Array helpers
# --------------------------------------------------------------------------------------------


def _pairs(
    edge_u: np.ndarray, edge_v: np.ndarray, edge_length: np.ndarray, n: int
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Keys ``u * n + v`` of the distinct (u, v) pairs, sorted by u then v (the entry order of
    every forward CSR), and the CSR of the shortest length over parallel edges."""
    order = np.lexsort((edge_length, edge_v, edge_u))
    su, sv = edge_u[order], edge_v[order]
    first = np.ones(su.size, bool)
    first[1:] = (su[1:] != su[:-1]) | (sv[1:] != sv[:-1])
    pair_u, pair_v = su[first], sv[first]
    return pair_u * n + pair_v, _csr(edge_length[order][first], pair_u, pair_v, n)


def _csr(data: np.ndarray, rows: np.ndarray, cols: np.ndarray, n: int) -> sp.csr_matrix:
    """CSR from entries already sorted by (row, col) without duplicates; zeros stay edges."""
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return sp.csr_matrix((np.asarray(data, np.float64), cols, indptr), shape=(n, n))


def _class_arrays(base: _Base, profile: SpeedProfile) -> _ClassArrays:
    cap = np.where(
        base.edge_expressway, profile.cap_kmh(expressway=True), profile.cap_kmh(expressway=False)
    )
    speed = np.minimum(base.edge_speed, cap) * profile.factor
    edge_time = base.edge_length * 3.6 / speed
    order = np.lexsort((base.edge_length, edge_time, base.edge_v, base.edge_u))
    su, sv = base.edge_u[order], base.edge_v[order]
    first = np.ones(su.size, bool)
    first[1:] = (su[1:] != su[:-1]) | (sv[1:] != sv[:-1])
    pu, pv = su[first], sv[first]
    pair_time = edge_time[order][first]
    pair_length = base.edge_length[order][first]
    n = base.node_ids.size
    rev = np.lexsort((pu, pv))
    for array in (edge_time, pair_length):
        array.flags.writeable = False
    return _ClassArrays(
        forward=_csr(pair_time, pu, pv, n),
        reverse=_csr(pair_time[rev], pv[rev], pu[rev], n),
        pair_length=pair_length,
        edge_time=edge_time,
    )


def _write_travel_times(graph: nx.MultiDiGraph, classes: Mapping[str, _ClassArrays]) -> None:
    names = [f"travel_time_{cls}" for cls in classes]
    times = np.stack([arrays.edge_time for arrays in classes.values()], axis=1).tolist()
    for (_, _, data), row in zip(graph.edges(data=True), times, strict=True):
        data.update(zip(names, row, strict=True))


def _sum_to_root(parent: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Sum ``step`` along parent pointers to the root, by pointer doubling (O(n log n))."""
    n = parent.size
    up = np.append(np.where(parent >= 0, parent, n), n)
    total = np.append(np.where(parent >= 0, step, 0.0), 0.0)
    while (up[:n] != n).any():
        total = total + total[up]
        up = up[up]
    return total[:n]


def _haversine(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _segment_distance_km(
    lat0: float, lon0: float, lat1: Any, lon1: Any, lat2: Any, lon2: Any
) -> np.ndarray:
    """Distance (km) from a point to straight segments, in a local equirectangular plane."""
    k = _EARTH_RADIUS_M / 1000.0 * math.pi / 180.0
    c = math.cos(math.radians(float(lat0)))
    ax, ay = (np.asarray(lon1) - lon0) * k * c, (np.asarray(lat1) - lat0) * k
    bx, by = (np.asarray(lon2) - lon0) * k * c, (np.asarray(lat2) - lat0) * k
    dx, dy = bx - ax, by - ay
    dd = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(dd > 0, np.clip(-(ax * dx + ay * dy) / dd, 0.0, 1.0), 0.0)
    return np.hypot(ax + t * dx, ay + t * dy)


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere: chord order equals great-circle order."""
    phi, lam = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))


def _road_km(base: _Base) -> float:
    a = np.minimum(base.edge_u, base.edge_v)
    b = np.maximum(base.edge_u, base.edge_v)
    order = np.lexsort((base.edge_length, b, a))
    sa, sb = a[order], b[order]
    first = np.ones(sa.size, bool)
    first[1:] = (sa[1:] != sa[:-1]) | (sb[1:] != sb[:-1])
    return float(base.edge_length[order][first].sum() / 1000.0)


def _check_index(value: Any, n: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValidationError(f"`{name}` must be a node index (int), got {value!r}")
    if not 0 <= value < n:
        raise ValidationError(
            f"`{name}` must be a node index in 0..{n - 1}, got {value} "
            "(use index_of() to convert a graph node id)"
        )
    return int(value)


def _check_latlon(lat: Any, lon: Any) -> tuple[float, float]:
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        raise ValidationError(f"coordinates must be numbers, got {lat!r}, {lon!r}") from None
    if not (math.isfinite(lat) and -90 <= lat <= 90 and math.isfinite(lon) and -180 <= lon <= 180):
        raise ValidationError(
            f"coordinates must be latitude in [-90, 90] and longitude in [-180, 180], "
            f"got {lat}, {lon}"
        )
    return lat, lon


def _parse_latlon(text: str) -> tuple[float, float] | None:
    parts = text.split(",")
    if len(parts) != 2:
        return None
    try:
        return float(parts[0]), float(parts[1])
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


def export(network: RoadNetwork, path: str | os.PathLike[str]) -> Path:
    """Write the cleaned network with its class travel times, for QGIS or reloading.

    Parameters
    ----------
    network
        The network to write.
    path
        ``*.graphml`` (OSMnx GraphML; :func:`load_network` reloads it with identical travel
        times) or ``*.gpkg`` (GeoPackage with ``nodes`` and ``edges`` layers, directed).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    NetworkError
        For another suffix or when the file cannot be written.
    """
    import osmnx as ox

    if not isinstance(network, RoadNetwork):
        raise ValidationError(f"`network` must be a RoadNetwork, got {type(network).__name__}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".graphml", ".gpkg"}:
        raise NetworkError(
            f"cannot export to {str(path)!r}: the file name must end .graphml or .gpkg"
        )
    graph = network.graph.copy()  # an unfrozen copy; drop None-valued attributes
    for _, data in graph.nodes(data=True):
        for key in [k for k, v in data.items() if v is None]:
            del data[key]
    for _, _, data in graph.edges(data=True):
        for key in [k for k, v in data.items() if v is None]:
            del data[key]
    graph.graph["fleetsim_source"] = network.source
    try:
        if suffix == ".graphml":
            ox.save_graphml(graph, path)
        else:
            ox.save_graph_geopackage(graph, path, directed=True)
    except (OSError, RuntimeError) as exc:  # pyogrio's DataSourceError is a RuntimeError
        raise NetworkError(f"cannot write {path}: {exc}") from exc
    return path
