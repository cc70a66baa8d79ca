"""Road network: a cleaned road graph with per-class edge times, CSR routing and path trees.

A :class:`RoadNetwork` is the routing core every engine uses: one CSR matrix of edge times
per vehicle class, built once, reverse Dijkstra trees to a target (:meth:`RoadNetwork.tree_to`,
:meth:`RoadNetwork.times_to`), and the node arrays the model reads (zones, the central area,
seats). Its input is a :class:`RoadData`, the cleaned graph with its arrays.

The rest of "the network" lives in sibling modules, and dependencies point one way:

* :mod:`sim.netload` reads a source (the embedded Ordos network, OSM XML, GraphML, an online
  place query), cleans it and builds the :class:`RoadData` and the :class:`RoadNetwork`
  (:func:`sim.netload.load_network`, :func:`sim.netload.from_graph`). It imports this module
  and this module never imports it, so ``load_network`` is imported from :mod:`sim.netload`
  (a re-export here would be an import cycle).
* :mod:`sim.places` turns names and points into nodes and nodes into labels; every network
  carries its :class:`sim.places.PlaceIndex` as :attr:`RoadNetwork.places`.
* :mod:`sim.closures` selects the edges a road closure closes and removes them with
  :meth:`RoadNetwork.without_edges`.
* :mod:`sim.netexport` writes a network to GraphML or GeoPackage.

* :mod:`sim.roads` knows the road refs and their aliases and labels nodes for people
  (``"G18 12 km E of Xuejiawan"``); every network carries one as :attr:`RoadNetwork.roads`.

Imports: ``geo`` ← ``places`` ← ``roads`` ← ``network`` ← ``netload``, ``closures``,
``netexport``.

Per-class speed on an edge is ``min(speed_kph, profile.cap_kmh(highway in
EXPRESSWAY_HIGHWAYS)) * profile.factor`` and its time is ``length / speed``. Routing uses one
CSR matrix per class built once, keeping the **fastest** of parallel edges (and that edge's
length, so path lengths are exact).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from types import MappingProxyType
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from sim.errors import NetworkError, ValidationError
from sim.fields import class_name_problem
from sim.geo import bbox
from sim.places import PlaceIndex
from sim.roads import RoadIndex
from sim.vehicles import (
    DEFAULT_SPEED_PROFILES,
    SpeedProfile,
    check_class,
)

__all__ = ["PathTree", "RoadData", "RoadNetwork", "parallel_min", "resolve_profiles", "road_km"]

_TREE_CACHE_BYTES = 256 * 2**20  # budget for cached PathTrees (4 arrays x 8 bytes per node)


# --------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------


class PathTree:
    """Fastest paths of one vehicle class from every node to one target.

    Arrays are indexed by node index (``0..n-1``) and read-only (trees are cached and shared).
    ``length_m`` may be given as a function computing it: it is then computed on first use
    (planning reads only times and paths; the lengths cost about half as much again as the
    search on a large network).

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

    __slots__ = ("_length", "next_hop", "target", "time_s", "vehicle")

    target: int
    vehicle: str
    time_s: np.ndarray
    next_hop: np.ndarray

    def __init__(
        self,
        target: int,
        vehicle: str,
        time_s: np.ndarray,
        length_m: np.ndarray | Callable[[], np.ndarray],
        next_hop: np.ndarray,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "target", target)
        set_(self, "vehicle", vehicle)
        set_(self, "time_s", time_s)
        set_(self, "_length", length_m)
        set_(self, "next_hop", next_hop)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"PathTree is read-only: cannot set {name!r}")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return PathTree, (self.target, self.vehicle, self.time_s, self.length_m, self.next_hop)

    def __repr__(self) -> str:
        return f"PathTree(target={self.target!r}, vehicle={self.vehicle!r}, n={self.time_s.size})"

    @property
    def length_m(self) -> np.ndarray:
        """Road length in metres along each fastest path (``inf`` if unreachable)."""
        if callable(self._length):
            object.__setattr__(self, "_length", self._length())
        return self._length  # type: ignore[return-value]

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


@dataclass(frozen=True, eq=False)
class RoadData:
    """A cleaned road graph and its profile-independent arrays: what a :class:`RoadNetwork`
    is built from (by :mod:`sim.netload`).

    Node arrays are indexed by node index ``i``, the position of the node in ``graph.nodes``;
    edge arrays by edge position, the order of ``graph.edges``. Arrays are read-only.

    Attributes
    ----------
    source
        Where the graph came from.
    graph
        The cleaned graph (see :mod:`sim.netload` for its attributes). A network built from
        an unfrozen graph writes its ``travel_time_<class>`` attributes and freezes it.
    node_ids
        ``int64`` graph node id of each node index.
    lat, lon
        Node coordinates in degrees.
    zone
        Node zone names (``str``; ``"outside"`` or ``""`` when unknown).
    central
        ``True`` for nodes in the central urban area.
    seats
        Node indices of the banner/district seats (``fleetsim:kind=seat``).
    places
        The names and coordinates of the nodes, for lookup.
    edge_u, edge_v
        Node index of each edge's tail and head.
    edge_length
        Edge length, m.
    edge_speed
        Edge speed ``speed_kph`` (posted or default), km/h.
    edge_expressway
        ``True`` for expressway edges (the legal caps differ).
    dropped_nodes, dropped_components
        Nodes and components removed outside the largest strongly connected component.
    non_road_edges
        Edges removed by the road filter.
    """

    source: str
    graph: nx.MultiDiGraph
    node_ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    zone: np.ndarray
    central: np.ndarray
    seats: np.ndarray
    places: PlaceIndex
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length: np.ndarray
    edge_speed: np.ndarray
    edge_expressway: np.ndarray
    dropped_nodes: int = 0
    dropped_components: int = 0
    non_road_edges: int = 0


@dataclass(frozen=True)
class _ClassArrays:
    """Routing arrays of one vehicle class (rows = from, columns = to)."""

    forward: sp.csr_matrix  # min time over parallel edges, entries in _Shared.pairs order
    reverse: sp.csr_matrix  # the transpose, for all-to-one trees
    pair_length: np.ndarray  # length of the chosen (fastest) parallel edge, per pair
    edge_time: np.ndarray  # time of every graph edge, in graph edge order


@dataclass(frozen=True, eq=False)
class _Pairs:
    """The edges grouped by their (u, v) pair, in the order of ``u * n + v``.

    Every class (and the lengths) reduces the same groups, so they are formed once per
    network: a 4-key sort of the 650,000 edges of a regional import per class was a quarter
    of loading it from the cache.
    """

    order: np.ndarray  # edge indices sorted by (u, v), stably
    start: np.ndarray  # position in `order` of each pair's first edge
    keys: np.ndarray  # u * n + v of each pair, sorted
    u: np.ndarray  # tail node index of each pair
    v: np.ndarray  # head node index of each pair
    by_head: np.ndarray  # pair indices sorted by (v, u): the entry order of the transpose
    n: int  # number of nodes

    @classmethod
    def of(cls, edge_u: np.ndarray, edge_v: np.ndarray, n: int) -> _Pairs:
        """Group the edges ``edge_u[i] -> edge_v[i]`` of a network of ``n`` nodes."""
        order = np.lexsort((edge_v, edge_u))
        su, sv = edge_u[order], edge_v[order]
        first = np.ones(su.size, bool)
        first[1:] = (su[1:] != su[:-1]) | (sv[1:] != sv[:-1])
        u, v = su[first], sv[first]
        return cls(order, np.flatnonzero(first), u * n + v, u, v, np.lexsort((u, v)), n)

    def smallest(self, weight: np.ndarray, then: np.ndarray | None = None) -> tuple:
        """Per pair, the smallest ``weight`` of its edges and, with ``then``, the smallest
        ``then`` among the edges of that weight: the first edge of each pair in the order
        of ``lexsort((then, weight, v, u))``."""
        if not self.start.size:
            empty = np.zeros(0, np.float64)
            return (empty, empty) if then is not None else (empty,)
        w = np.asarray(weight, np.float64)[self.order]
        best = np.minimum.reduceat(w, self.start)
        if then is None:
            return (best,)
        sizes = np.diff(np.append(self.start, w.size))
        t = np.where(w == np.repeat(best, sizes), np.asarray(then, np.float64)[self.order], np.inf)
        return best, np.minimum.reduceat(t, self.start)

    def csr(self, data: np.ndarray, *, transpose: bool = False) -> sp.csr_matrix:
        """The ``n x n`` matrix of one value per pair (``data`` in pair order)."""
        if transpose:
            rev = self.by_head
            return _csr(data[rev], self.v[rev], self.u[rev], self.n)
        return _csr(data, self.u, self.v, self.n)


@dataclass(frozen=True, eq=False)
class _Shared:
    """Profile-independent state, shared by :meth:`RoadNetwork.with_profiles` copies."""

    data: RoadData  # its graph has travel_time_* of the network that built it, once read
    index: dict[int, int]  # graph node id -> node index
    pairs: _Pairs  # the edges grouped by (u, v): the same for every class
    length_csr: sp.csr_matrix  # min length over parallel edges
    roads: list[RoadIndex]  # the open network's RoadIndex, built on first use (copies share it)


class RoadNetwork:
    """A cleaned, strongly connected road graph with fast per-class routing.

    Build one with :func:`sim.netload.load_network` (from a source) or
    :func:`sim.netload.from_graph` (from a graph in memory). A network is immutable: its
    arrays are read-only and its :attr:`graph` is frozen.

    Parameters
    ----------
    data
        The cleaned graph and its arrays.
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
    seats : numpy.ndarray
        Node indices of the banner/district seats.
    places : PlaceIndex
        Lookup of nodes by name or point, and their labels.
    edge_u, edge_v, edge_length : numpy.ndarray
        Tail and head node index and length (m) of every edge, in ``graph.edges`` order.
    """

    def __init__(
        self, data: RoadData, *, profiles: Mapping[str, SpeedProfile] | None = None
    ) -> None:
        if not isinstance(data, RoadData):
            raise ValidationError(
                f"RoadNetwork needs RoadData (use sim.netload.load_network or from_graph), "
                f"got {type(data).__name__}"
            )
        resolved = resolve_profiles(profiles)
        pairs = _Pairs.of(data.edge_u, data.edge_v, data.node_ids.size)
        index = {int(node_id): i for i, node_id in enumerate(data.node_ids.tolist())}
        shared = _Shared(data, index, pairs, pairs.csr(*pairs.smallest(data.edge_length)), [])
        self._init(shared, resolved, owns_graph=not nx.is_frozen(data.graph))

    # -- construction helpers ------------------------------------------------------------

    def _init(
        self, shared: _Shared, profiles: dict[str, SpeedProfile], *, owns_graph: bool
    ) -> None:
        self._shared = shared
        self._profiles = profiles
        self._classes = {cls: _class_arrays(shared, profile) for cls, profile in profiles.items()}
        # The network that builds the shared state owns its graph: it writes its times into
        # it and freezes it. Copies made by with_profiles() materialise a graph of their own.
        # Both happen when `graph` is first read: routing never reads it (a large network
        # starts seconds sooner).
        self._owns_graph = owns_graph
        self._graph: nx.MultiDiGraph | None = None
        self._init_caches()

    def _init_caches(self) -> None:
        self._trees: OrderedDict[tuple[int, str], PathTree] = OrderedDict()
        self._tree_max = int(np.clip(_TREE_CACHE_BYTES // max(32 * self.n_nodes, 1), 4, 128))
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # Picklable for process pools and Dask: drop the lock and the path-tree cache.
        state = {k: v for k, v in self.__dict__.items() if k not in {"_trees", "_lock"}}
        if self._graph is self._shared.data.graph:
            state["_graph"] = None  # pickled once, in the shared data; set again below
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        graph = self._shared.data.graph
        if self._graph is None and self._owns_graph and nx.is_frozen(graph):
            self._graph = graph
        self._init_caches()

    # -- attributes ----------------------------------------------------------------------

    @property
    def source(self) -> str:
        return self._shared.data.source

    @property
    def graph(self) -> nx.MultiDiGraph:
        if self._graph is None:  # first read: write this network's times (see _init)
            with self._lock:
                if self._graph is None:
                    graph = self._shared.data.graph
                    if not (self._owns_graph and not nx.is_frozen(graph)):
                        graph = graph.copy()
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
        return self._shared.data.dropped_nodes

    @property
    def n_nodes(self) -> int:
        return int(self._shared.data.node_ids.size)

    @property
    def n_edges(self) -> int:
        return int(self._shared.data.edge_u.size)

    @property
    def node_ids(self) -> np.ndarray:
        return self._shared.data.node_ids

    @property
    def lat(self) -> np.ndarray:
        return self._shared.data.lat

    @property
    def lon(self) -> np.ndarray:
        return self._shared.data.lon

    @property
    def zone(self) -> np.ndarray:
        return self._shared.data.zone

    @property
    def central(self) -> np.ndarray:
        return self._shared.data.central

    @property
    def seats(self) -> np.ndarray:
        """Node indices of the banner/district seats (nodes tagged ``fleetsim:kind=seat``;
        none on a network without that tag)."""
        return self._shared.data.seats

    @property
    def places(self) -> PlaceIndex:
        """Lookup of nodes by name or ``"LAT,LON"`` and their labels (see :mod:`sim.places`)."""
        return self._shared.data.places

    @property
    def roads(self) -> RoadIndex:
        """The road refs and their aliases, and the human labels of nodes and points (see
        :mod:`sim.roads`): ``network.roads.label(i)`` is ``"G18 12 km E of Xuejiawan"``.

        Built once from the open network; copies for other speed profiles or closures share
        it, so labels and road names do not depend on what a scenario closed.
        """
        shared = self._shared
        if not shared.roads:
            data = shared.data
            shared.roads.append(
                RoadIndex(
                    data.source,
                    (  # graph.edges(data=True) in its order, without its view per edge
                        attrs
                        for _, nbrs in data.graph.adjacency()
                        for keyed in nbrs.values()
                        for attrs in keyed.values()
                    ),
                    data.edge_u,
                    data.edge_v,
                    data.lat,
                    data.lon,
                    data.node_ids,
                    data.places,
                )
            )
        return shared.roads[0]

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """``(south, west, north, east)`` of the nodes, in degrees."""
        return bbox(self._shared.data.lat, self._shared.data.lon)

    def central_area(self, *, quad_segs: int = 16) -> list[np.ndarray]:
        """The central urban area as drawn on maps: one ring per cluster of central nodes.

        Each central node is widened by ~1.2 % of the network's extent (at least 0.01°, about
        4 km here); nodes whose discs touch form a cluster, and each cluster's convex hull is
        one ring.

        Parameters
        ----------
        quad_segs
            Segments per quarter circle of each disc (fewer: lighter rings for the report).

        Returns
        -------
        list of numpy.ndarray
            ``(k, 2)`` arrays of (lon, lat), closed; empty without central nodes.
        """
        from shapely.geometry import Point
        from shapely.ops import unary_union

        central = self.central.astype(bool)
        if not central.any():
            return []
        south, west, north, east = self.bbox
        pad = max(0.01, 0.012 * max(north - south, east - west))
        pts = np.column_stack([self.lon[central], self.lat[central]])
        blobs = unary_union([Point(p).buffer(pad, quad_segs=quad_segs) for p in pts.tolist()])
        hulls = unary_union([b.convex_hull for b in getattr(blobs, "geoms", [blobs])])
        return [np.asarray(poly.exterior.coords) for poly in getattr(hulls, "geoms", [hulls])]

    @property
    def edge_u(self) -> np.ndarray:
        return self._shared.data.edge_u

    @property
    def edge_v(self) -> np.ndarray:
        return self._shared.data.edge_v

    @property
    def edge_length(self) -> np.ndarray:
        return self._shared.data.edge_length

    @property
    def edge_refs(self) -> list[str | None]:
        """The ``ref`` of every edge (``"G18"``, ``"G18;G65"`` or ``None``), in edge order."""
        return [data.get("ref") for _, _, data in self._shared.data.graph.edges(data=True)]

    def node(self, index: int) -> Mapping[str, Any]:
        """Return the attributes of node ``index`` (read-only; see :attr:`graph`).

        Parameters
        ----------
        index
            Node index.

        Raises
        ------
        ValidationError
            If ``index`` is not a node index.
        """
        index = _check_index(index, self.n_nodes, "index")
        data = self._shared.data
        return MappingProxyType(data.graph.nodes[int(data.node_ids[index])])

    def __repr__(self) -> str:
        return (
            f"RoadNetwork(source={self.source!r}, nodes={self.n_nodes}, edges={self.n_edges}, "
            f"dropped_nodes={self.dropped_nodes})"
        )

    def index_of(self, node_id: int) -> int:
        """Return the node index of graph node id ``node_id``.

        Raises
        ------
        NetworkError
            If ``node_id`` is not a node of this network.
        """
        try:
            return self._shared.index[int(node_id)]
        except (KeyError, TypeError, ValueError):
            raise NetworkError(
                f"node id {node_id!r} is not in the network {self.source!r}"
            ) from None

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
        for array in (time_s, next_hop):
            array.flags.writeable = False
        lengths = partial(
            _tree_lengths, time_s, next_hop, self._shared.pairs.keys, arrays.pair_length
        )
        return PathTree(target, vehicle, time_s, lengths, next_hop)

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

    def road_distance_from(self, source: int, limit_m: float = math.inf) -> np.ndarray:
        """Return the shortest road distance (m) from ``source`` to every node.

        Distances follow the direction of travel (one-way streets respected) and are
        independent of vehicle class.

        Parameters
        ----------
        source
            Node index to start from.
        limit_m
            Search no farther: nodes beyond this distance get ``inf`` (the others their
            distance, the same as without a limit); on a large network a short search is
            much faster.
        """
        source = _check_index(source, self.n_nodes, "source")
        return dijkstra(self._shared.length_csr, directed=True, indices=source, limit=limit_m)

    def edge_times(self, vehicle: str) -> sp.csr_matrix:
        """Return a copy of the class's edge-time matrix (s; row = from, column = to).

        Parallel edges are reduced to the fastest; zero-time entries are real edges.
        """
        vehicle = check_class(vehicle, self._profiles)
        return self._classes[vehicle].forward.copy()

    # -- copies --------------------------------------------------------------------------

    def with_profiles(self, profiles: Mapping[str, SpeedProfile]) -> RoadNetwork:
        """Return a copy with other speed profiles, sharing every profile-independent array.

        Parameters
        ----------
        profiles
            Profiles per class; the default classes not given keep
            :data:`sim.vehicles.DEFAULT_SPEED_PROFILES`, other classes are added.
        """
        resolved = resolve_profiles(profiles)
        net = RoadNetwork.__new__(RoadNetwork)
        net._init(self._shared, resolved, owns_graph=False)
        return net

    def without_edges(self, edges: np.ndarray | Sequence[int]) -> RoadNetwork:
        """Return a copy without the edges at positions ``edges`` (every vehicle class).

        Nodes are kept, so some of them may become unreachable (infinite times). The copy
        keeps this network's speed profiles, and :meth:`with_profiles` on it keeps the edges
        removed. :func:`sim.closures.with_closures` removes the edges of road closures.

        Parameters
        ----------
        edges
            Edge positions, in ``graph.edges`` order.

        Returns
        -------
        RoadNetwork
            The copy, or this network itself when ``edges`` is empty.
        """
        closed = np.zeros(self.n_edges, dtype=bool)
        closed[np.asarray(edges, dtype=np.int64)] = True
        if not closed.any():
            return self
        data = self._shared.data
        graph = data.graph.copy()
        positions = list(graph.edges(keys=True))
        graph.remove_edges_from([positions[j] for j in np.flatnonzero(closed).tolist()])
        keep = ~closed
        arrays = {
            name: getattr(data, name)[keep].copy()
            for name in ("edge_u", "edge_v", "edge_length", "edge_speed", "edge_expressway")
        }
        for array in arrays.values():
            array.flags.writeable = False
        pairs = _Pairs.of(arrays["edge_u"], arrays["edge_v"], self.n_nodes)
        self.roads  # noqa: B018  (built from the open network first: the copy shares it)
        shared = replace(
            self._shared,
            data=replace(data, graph=graph, **arrays),
            pairs=pairs,
            length_csr=pairs.csr(*pairs.smallest(arrays["edge_length"])),
        )
        net = RoadNetwork.__new__(RoadNetwork)
        net._init(shared, dict(self._profiles), owns_graph=True)
        return net

    # -- summary -------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """Return a JSON-ready summary of the network.

        Keys: ``source``, ``nodes``, ``edges``, ``dropped_nodes``, ``dropped_components``
        (outside the largest strongly connected component), ``non_road_edges`` (removed by
        the road filter), ``bbox`` (south, west, north, east), ``nodes_per_zone``,
        ``central_nodes``, ``named_places``, ``seats`` (their labels), ``road_km`` (each road
        between two nodes counted once, whatever its directions and parallel duplicates).
        """
        data = self._shared.data
        zones, counts = np.unique(data.zone, return_counts=True)
        return {
            "source": data.source,
            "nodes": self.n_nodes,
            "edges": self.n_edges,
            "dropped_nodes": data.dropped_nodes,
            "dropped_components": data.dropped_components,
            "non_road_edges": data.non_road_edges,
            "bbox": list(self.bbox),
            "nodes_per_zone": {str(z): int(c) for z, c in zip(zones, counts, strict=True)},
            "central_nodes": int(data.central.sum()),
            "named_places": len(data.places.names),
            "seats": [data.places.label(i) for i in data.seats.tolist()],
            "road_km": round(road_km(data.edge_u, data.edge_v, data.edge_length), 3),
        }


def resolve_profiles(profiles: Mapping[str, SpeedProfile] | None) -> dict[str, SpeedProfile]:
    """Return the speed profile of every class: ``profiles``, else the default.

    Parameters
    ----------
    profiles
        Speed profiles per vehicle class; the default classes not given keep
        :data:`sim.vehicles.DEFAULT_SPEED_PROFILES`, other classes are added.

    Raises
    ------
    ValidationError
        For a class that does not exist or a value that is not a :class:`SpeedProfile`.
    """
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


def parallel_min(
    edge_u: np.ndarray, edge_v: np.ndarray, weight: np.ndarray, n: int
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Reduce parallel edges to the smallest weight.

    Parameters
    ----------
    edge_u, edge_v
        Tail and head node index of each edge.
    weight
        Weight of each edge.
    n
        Number of nodes.

    Returns
    -------
    keys : numpy.ndarray
        ``u * n + v`` of the distinct (u, v) pairs, sorted by u then v (the entry order of
        the CSR).
    csr : scipy.sparse.csr_matrix
        ``n x n``, the smallest weight of each pair; zero weights stay edges.
    """
    pairs = _Pairs.of(edge_u, edge_v, n)
    (smallest,) = pairs.smallest(weight)
    return pairs.keys, pairs.csr(smallest)


# --------------------------------------------------------------------------------------------
# Array helpers
# --------------------------------------------------------------------------------------------


def _csr(data: np.ndarray, rows: np.ndarray, cols: np.ndarray, n: int) -> sp.csr_matrix:
    """CSR from entries already sorted by (row, col) without duplicates; zeros stay edges."""
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return sp.csr_matrix((np.asarray(data, np.float64), cols, indptr), shape=(n, n))


def _class_arrays(shared: _Shared, profile: SpeedProfile) -> _ClassArrays:
    data = shared.data
    cap = np.where(
        data.edge_expressway, profile.cap_kmh(expressway=True), profile.cap_kmh(expressway=False)
    )
    speed = np.minimum(data.edge_speed, cap) * profile.factor
    edge_time = data.edge_length * 3.6 / speed
    # Of parallel edges the fastest, and of equally fast ones the shortest.
    pair_time, pair_length = shared.pairs.smallest(edge_time, data.edge_length)
    for array in (edge_time, pair_length):
        array.flags.writeable = False
    return _ClassArrays(
        forward=shared.pairs.csr(pair_time),
        reverse=shared.pairs.csr(pair_time, transpose=True),
        pair_length=pair_length,
        edge_time=edge_time,
    )


def _write_travel_times(graph: nx.MultiDiGraph, classes: Mapping[str, _ClassArrays]) -> None:
    names = [f"travel_time_{cls}" for cls in classes]
    times = np.stack([arrays.edge_time for arrays in classes.values()], axis=1).tolist()
    for (_, _, data), row in zip(graph.edges(data=True), times, strict=True):
        data.update(zip(names, row, strict=True))


def _tree_lengths(
    time_s: np.ndarray, next_hop: np.ndarray, pair_keys: np.ndarray, pair_length: np.ndarray
) -> np.ndarray:
    """Road length along each fastest path of a tree (``inf`` where unreachable), read-only."""
    n = next_hop.size
    step = np.zeros(n)
    has = next_hop >= 0
    pos = np.searchsorted(pair_keys, np.flatnonzero(has) * n + next_hop[has])
    step[has] = pair_length[pos]
    length_m = _sum_to_root(next_hop, step)
    length_m[~np.isfinite(time_s)] = np.inf
    length_m.flags.writeable = False
    return length_m


def _sum_to_root(parent: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Sum ``step`` along parent pointers to the root, by pointer doubling (O(n log n))."""
    n = parent.size
    up = np.append(np.where(parent >= 0, parent, n), n)
    total = np.append(np.where(parent >= 0, step, 0.0), 0.0)
    while (up[:n] != n).any():
        total = total + total[up]
        up = up[up]
    return total[:n]


def road_km(edge_u: np.ndarray, edge_v: np.ndarray, edge_length: np.ndarray) -> float:
    """Kilometres of road in a set of directed edges: each road between two nodes counted once.

    The two directions of a road and its parallel duplicates count once (the shortest of
    them), as in :meth:`RoadNetwork.info`.

    Parameters
    ----------
    edge_u, edge_v
        Node indices of each edge's ends.
    edge_length
        Each edge's length, metres.

    Returns
    -------
    float
        Road length, km.
    """
    edge_u, edge_v = np.asarray(edge_u), np.asarray(edge_v)
    length = np.asarray(edge_length, dtype=float)
    a, b = np.minimum(edge_u, edge_v), np.maximum(edge_u, edge_v)
    order = np.lexsort((length, b, a))
    sa, sb = a[order], b[order]
    first = np.ones(sa.size, bool)
    first[1:] = (sa[1:] != sa[:-1]) | (sb[1:] != sb[:-1])
    return float(length[order][first].sum() / 1000.0)


def _check_index(value: Any, n: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValidationError(f"`{name}` must be a node index (int), got {value!r}")
    if not 0 <= value < n:
        raise ValidationError(
            f"`{name}` must be a node index in 0..{n - 1}, got {value} "
            "(use index_of() to convert a graph node id)"
        )
    return int(value)
