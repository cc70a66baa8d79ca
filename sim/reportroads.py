"""The road layer of the report's map: which roads to draw, and as few points as show them.

A regional network drawn road by road makes a page too heavy for a browser and for a mail
(an OpenStreetMap import of 188,000 nodes and 650,000 edges: 16 MB, 11 MB of it roads).
:func:`road_layer` keeps the layer within a budget of points (:data:`POINT_BUDGET`):

* a network that fits is drawn as it always was: every road once, one polyline per road,
  every point of its geometry;
* a larger one keeps every road of a major class (:data:`MAJOR_CLASSES`: motorway, trunk,
  primary, secondary and their ramps), whatever the budget. The minor classes follow, most
  important first (the order of :data:`sim.netload.DEFAULT_SPEED_KPH`): first each class's
  roads in the central urban area, then each class everywhere else, a whole class at a
  time while it fits; the first that does not fit ends the list. Roads that meet end to
  end at a node where nothing else is drawn become one polyline, and every polyline is
  simplified within :data:`TOLERANCE_M` metres (Douglas-Peucker, shapely).

:meth:`RoadLayer.note` says what was left out, for the page to show; the numbers of a run
never depend on it (the layer only reads the network).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.netload import DEFAULT_SPEED_KPH, FALLBACK_SPEED_KPH
from sim.network import RoadNetwork

#: Points (coordinate pairs, gaps between polylines included) the road layer may take: about
#: 1.6 MB in the page (Plotly sends float32 pairs as base64, ~10.7 bytes a point).
POINT_BUDGET = 150_000
#: Road classes always drawn, whatever the size of the network.
MAJOR_CLASSES = frozenset(
    c for base in ("motorway", "trunk", "primary", "secondary") for c in (base, f"{base}_link")
)
#: How far (m) a simplified polyline of a thinned layer may stray from the road.
TOLERANCE_M = 10.0

_M_PER_DEG = 111_320.0
_MAJOR_ORDER = ("motorway", "trunk", "primary", "secondary")

#: Group of a road (its trace on the map): from the tail, head and attributes of its edge.
GroupKey = Callable[[Any, Any, Mapping[str, Any]], Hashable]


@dataclass(frozen=True)
class RoadLayer:
    """The roads a map draws, as polylines grouped by trace.

    Attributes
    ----------
    lines : dict
        Group key -> polylines, each an ``(n, 2)`` array of longitude, latitude.
    edges : int
        Edges of the network (directed, parallel ones included, as ``network info`` counts).
    drawn : int
        Edges whose road is drawn.
    points : int
        Points of the layer, one gap per polyline included.
    full_points : int
        Points of the layer with every road drawn as it is.
    classes : tuple of str
        Road classes of the network, most important first.
    major : tuple of str
        The major classes of the network (always drawn), most important first.
    central_only : tuple of str
        Minor classes drawn only in the central urban area.
    dropped : tuple of str
        Minor classes not drawn at all.
    thinned : bool
        Whether the layer is thinned and simplified (``False``: drawn as it is).
    budget : int
        The points it was allowed.
    """

    lines: dict[Hashable, list[np.ndarray]]
    edges: int
    drawn: int
    points: int
    full_points: int
    classes: tuple[str, ...]
    major: tuple[str, ...]
    central_only: tuple[str, ...]
    dropped: tuple[str, ...]
    thinned: bool
    budget: int = POINT_BUDGET

    def note(self) -> str | None:
        """What the layer leaves out, in a sentence for the page; ``None`` when nothing.

        Returns
        -------
        str or None
            E.g. ``roads: 151,237 of 650,592 edges drawn (...)``.
        """
        if not self.thinned:
            return None
        majors = [c for c in _MAJOR_ORDER if c in self.major or f"{c}_link" in self.major]
        ramps = " and ramp" if any(c.endswith("_link") for c in self.major) else ""
        kept = f"every {_and(majors)} road{ramps}" if majors else "no major road in the network"
        parts = [kept]
        if self.central_only:
            parts.append(f"{_and(self.central_only)} only in the central urban area")
        if self.dropped:
            parts.append(f"no {_and(self.dropped)}")
        return (
            f"roads: {self.drawn:,} of {self.edges:,} edges drawn ({'; '.join(parts)}). "
            f"Every road would take {self.full_points:,} points, more than the map's "
            f"{self.budget:,}: minor roads are thinned, roads that meet end to end are joined "
            f"and lines are simplified within {TOLERANCE_M:g} m. Closed roads, places, depots "
            "and checkpoints are all drawn."
        )


def _and(words: list[str] | tuple[str, ...]) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _rank(highway: str) -> tuple[float, str]:
    """Importance of a class: faster default speed first, ties by name."""
    return (-DEFAULT_SPEED_KPH.get(highway, FALLBACK_SPEED_KPH), highway)


@dataclass
class _Roads:
    """Every road once (the first edge of each node pair), with what thinning needs."""

    u: list[int]  # tail and head node ids of the first edge
    v: list[int]
    key: list[Hashable]
    highway: list[str]
    central: np.ndarray  # both ends in the central urban area
    edges: np.ndarray  # directed edges of the pair
    coords: list[np.ndarray]


def _roads(network: RoadNetwork, group: GroupKey) -> _Roads:
    graph = network.graph
    first: dict[tuple[int, int], int] = {}
    u_: list[int] = []
    v_: list[int] = []
    key: list[Hashable] = []
    highway: list[str] = []
    central: list[bool] = []
    edges: list[int] = []
    coords: list[np.ndarray] = []
    for u, v, data in graph.edges(data=True):
        pair = (min(u, v), max(u, v))
        j = first.get(pair)
        if j is not None:
            edges[j] += 1
            continue
        first[pair] = len(u_)
        u_.append(u)
        v_.append(v)
        key.append(group(u, v, data))
        highway.append(str(data.get("highway")))
        central.append(bool(graph.nodes[u].get("central")) and bool(graph.nodes[v].get("central")))
        edges.append(1)
        coords.append(edge_xy(graph, u, v, data))
    return _Roads(u_, v_, key, highway, np.array(central, bool), np.array(edges), coords)


def edge_xy(graph: Any, u: Any, v: Any, data: Mapping[str, Any]) -> np.ndarray:
    """The polyline of an edge, tail to head: its geometry, else the straight segment.

    Parameters
    ----------
    graph
        The network's graph.
    u, v
        Tail and head node ids.
    data
        The edge's attributes.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` longitudes and latitudes.
    """
    geom = data.get("geometry")
    if geom is not None and hasattr(geom, "coords"):
        return np.asarray(geom.coords, dtype=float)[:, :2]
    a, b = graph.nodes[u], graph.nodes[v]
    return np.array([[a["x"], a["y"]], [b["x"], b["y"]]], dtype=float)


def _chains(roads: _Roads, chosen: np.ndarray) -> tuple[list[Hashable], list[np.ndarray]]:
    """The chosen roads as polylines: roads of one group that meet end to end at a node where
    no other chosen road ends are joined (in a deterministic order)."""
    ends: dict[int, list[int]] = {}
    for j in chosen.tolist():
        ends.setdefault(roads.u[j], []).append(j)
        ends.setdefault(roads.v[j], []).append(j)

    def through(node: int) -> bool:
        es = ends[node]
        return len(es) == 2 and es[0] != es[1] and roads.key[es[0]] == roads.key[es[1]]

    used = np.zeros(len(roads.u), bool)
    keys: list[Hashable] = []
    lines: list[np.ndarray] = []

    def walk(node: int, j: int) -> None:
        pieces = []
        while True:
            used[j] = True
            xy = roads.coords[j]
            if roads.u[j] == node:
                node = roads.v[j]
            else:
                xy, node = xy[::-1], roads.u[j]
            pieces.append(xy if not pieces else xy[1:])
            if not through(node):
                break
            a, b = ends[node]
            j = b if a == j else a
            if used[j]:  # round a ring
                break
        keys.append(roads.key[j])
        lines.append(pieces[0] if len(pieces) == 1 else np.vstack(pieces))

    for node, es in ends.items():
        if not through(node):
            for j in es:
                if not used[j]:
                    walk(node, j)
    for j in chosen.tolist():  # rings: every node passed through
        if not used[j]:
            walk(roads.u[j], j)
    return keys, lines


def _simplified(lines: list[np.ndarray], coslat: float) -> list[np.ndarray]:
    """Douglas-Peucker within :data:`TOLERANCE_M`, in degrees scaled to true shape."""
    import shapely

    if not lines:
        return []
    xy = np.vstack(lines) * np.array([coslat, 1.0])
    which = np.repeat(np.arange(len(lines)), [len(x) for x in lines])
    geoms = shapely.simplify(
        shapely.linestrings(xy, indices=which), TOLERANCE_M / _M_PER_DEG, preserve_topology=False
    )
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    coords /= np.array([coslat, 1.0])
    counts = np.bincount(index, minlength=len(lines))
    parts = np.split(coords, np.cumsum(counts)[:-1])
    return [c if len(c) >= 2 else line[[0, -1]] for c, line in zip(parts, lines, strict=True)]


def _points(lines: list[np.ndarray]) -> int:
    return sum(len(x) + 1 for x in lines)


def _fewest_points(roads: _Roads, chosen: np.ndarray) -> int:
    """A lower bound of the points of the chosen roads: at least one polyline per two road
    ends at nodes not passed through, each of at least two points and a gap."""
    ends = np.concatenate([np.asarray(roads.u)[chosen], np.asarray(roads.v)[chosen]])
    _, degree = np.unique(ends, return_counts=True)
    return 3 * int(degree[degree != 2].sum()) // 2


def road_layer(network: RoadNetwork, group: GroupKey, *, budget: int = POINT_BUDGET) -> RoadLayer:
    """The roads a map of ``network`` draws, within a budget of points (module docstring).

    Parameters
    ----------
    network
        The road network.
    group
        The trace of a road, from its first edge ``(u, v, data)`` (e.g. its zone and width).
        Only roads of one group are joined.
    budget
        Points the layer may take (major roads are drawn even beyond it).

    Returns
    -------
    RoadLayer
        The polylines by group and what was left out.
    """
    roads = _roads(network, group)
    classes = tuple(sorted(set(roads.highway), key=_rank))
    major = tuple(c for c in classes if c in MAJOR_CLASSES)
    full = _points(roads.coords)
    total = int(roads.edges.sum())
    if full <= budget:
        lines: dict[Hashable, list[np.ndarray]] = {}
        for k, xy in zip(roads.key, roads.coords, strict=True):
            lines.setdefault(k, []).append(xy)
        return RoadLayer(lines, total, total, full, full, classes, major, (), (), False, budget)

    south, _, north, _ = network.bbox
    coslat = max(0.05, math.cos(math.radians((south + north) / 2)))
    highway = np.array(roads.highway)
    is_major = np.isin(highway, list(MAJOR_CLASSES))
    minor = [c for c in classes if c not in MAJOR_CLASSES]
    tiers = [(c, highway == c) for c in minor]
    if roads.central.any():
        tiers = [(c, m & roads.central) for c, m in tiers] + tiers
    chosen = is_major
    best = None
    placed: list[str] = []
    for k in range(-1, len(tiers)):
        trial = chosen if k < 0 else chosen | tiers[k][1]
        if k >= 0 and not (trial & ~chosen).any():
            continue
        if k >= 0 and _fewest_points(roads, trial) > budget:
            break
        keys, polylines = _chains(roads, np.flatnonzero(trial))
        polylines = _simplified(polylines, coslat)
        if k >= 0 and _points(polylines) > budget:
            break
        chosen, best = trial, (keys, polylines)
        if k >= 0:
            placed.append(tiers[k][0])
    assert best is not None
    lines = {}
    for k, xy in zip(*best, strict=True):
        lines.setdefault(k, []).append(xy)
    everywhere = [c for c in minor if not (highway == c)[~chosen].any()]
    central_only = [c for c in minor if c in placed and c not in everywhere]
    dropped = [c for c in minor if c not in placed]
    return RoadLayer(
        lines,
        total,
        int(roads.edges[chosen].sum()),
        _points(best[1]),
        full,
        classes,
        major,
        tuple(central_only),
        tuple(dropped),
        True,
        budget,
    )


__all__ = ["MAJOR_CLASSES", "POINT_BUDGET", "TOLERANCE_M", "RoadLayer", "edge_xy", "road_layer"]
