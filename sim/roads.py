"""Roads and human labels: the road refs a scenario may name, and where a node or point is.

A :class:`RoadIndex` holds the roads of a network by ``ref`` with their aliases (the edges'
``name``, ``name:zh`` and ``fleetsim:road`` id), and labels nodes and points for people::

    roads = network.roads
    roads.edge_mask("东康线")            # the edges of UNNUMBERED-Dongkang, by its Chinese name
    roads.label(node)                    # "G18 12 km E of Xuejiawan"; "Xuejiawan" at the place
    roads.point_label(40.2, 108.5)       # "31 km NW of Xini" (a point off the roads)

The label rule, the one every output uses: a node that is a named place is its name; any other
node is ``"<ref> <km> km <compass> of <nearest named place>"``: the ref most of its edges carry
(alphabetical on a tie; left out when none has a ref), the great-circle distance to the nearest
named place (one decimal under 10 km, whole km above; ``"at"`` under 50 m) and the 8-point
compass direction from that place to the node. Without named places the label is the ref (or
``"node <id>"``).

Dependencies point one way: this module uses :mod:`sim.geo` and :mod:`sim.places`;
:class:`sim.network.RoadNetwork` builds one on first use (:attr:`~sim.network.RoadNetwork.roads`).
"""

from __future__ import annotations

import difflib
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from sim.geo import haversine_m, segment_distance_km
from sim.places import PlaceIndex, listing_hint, normalise_name

__all__ = ["COMPASS", "Road", "RoadIndex", "compass", "km_text"]

#: The 8 compass points, clockwise from north.
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


@dataclass(frozen=True)
class Road:
    """One road of a network: a ``ref`` and the names its edges carry.

    Attributes
    ----------
    ref
        The ref (``"G18"``; an edge with ``"G18;G65"`` belongs to both roads).
    names
        The edges' ``name`` values (Latin script), in first-seen order.
    names_zh
        The edges' ``name:zh`` values.
    ids
        The edges' ``fleetsim:road`` ids.
    km
        Road length, km (each road between two nodes counted once).
    """

    ref: str
    names: tuple[str, ...]
    names_zh: tuple[str, ...]
    ids: tuple[str, ...]
    km: float

    @property
    def aliases(self) -> tuple[str, ...]:
        """Every other text a scenario may name this road by (names, Chinese names, ids)."""
        return tuple(dict.fromkeys([*self.names, *self.names_zh, *self.ids]))


def compass(lat0: float, lon0: float, lat1: float, lon1: float) -> str:
    """Return the 8-point compass direction from point 0 to point 1 (initial bearing).

    Parameters
    ----------
    lat0, lon0, lat1, lon1
        Coordinates in degrees.
    """
    p0, p1 = math.radians(lat0), math.radians(lat1)
    dlon = math.radians(lon1 - lon0)
    bearing = math.degrees(
        math.atan2(
            math.sin(dlon) * math.cos(p1),
            math.cos(p0) * math.sin(p1) - math.sin(p0) * math.cos(p1) * math.cos(dlon),
        )
    )
    return COMPASS[round(bearing / 45.0) % 8]


def km_text(km: float) -> str:
    """Return a distance as labels print it: ``"3.4 km"`` under 10 km, ``"12 km"`` above."""
    return f"{km:.1f} km" if km < 9.95 else f"{km:.0f} km"


class RoadIndex:
    """The roads of a network by ref and alias, and the human labels of nodes and points.

    Parameters
    ----------
    source
        The network's source (named in messages).
    edge_attrs
        The attribute mapping of every edge, in edge order (``ref``, ``name``, ``name:zh``,
        ``fleetsim:road`` and ``length`` are read).
    edge_u, edge_v
        Tail and head node index of every edge.
    lat, lon
        Node coordinates, degrees.
    node_ids
        Graph node id of every node index.
    places
        The network's places (for the named places labels refer to).
    """

    def __init__(
        self,
        source: str,
        edge_attrs: Iterable[dict],
        edge_u: np.ndarray,
        edge_v: np.ndarray,
        lat: np.ndarray,
        lon: np.ndarray,
        node_ids: np.ndarray,
        places: PlaceIndex,
    ) -> None:
        self.source = source
        self._u, self._v = edge_u, edge_v
        self._lat, self._lon, self._node_ids = lat, lon, node_ids
        self._places = places
        edge_refs: list[tuple[str, ...]] = []
        edge_keys: list[frozenset[str]] = []
        names: dict[str, dict[str, dict[str, None]]] = {}
        pair_km: dict[str, dict[tuple[int, int], float]] = {}
        no_refs: tuple[str, ...] = ()
        no_keys: frozenset[str] = frozenset()
        for j, data in enumerate(edge_attrs):
            if not (
                data.get("ref")
                or data.get("name")
                or data.get("name:zh")
                or data.get("fleetsim:road")
            ):  # most edges of a large network: no ref, no alias (the loop below adds nothing)
                edge_refs.append(no_refs)
                edge_keys.append(no_keys)
                continue
            refs = tuple(r.strip() for r in str(data.get("ref") or "").split(";") if r.strip())
            edge_refs.append(refs)
            texts = [*refs]
            for key, kind in (("name", "name"), ("name:zh", "zh"), ("fleetsim:road", "id")):
                value = data.get(key)
                if isinstance(value, str) and value.strip():
                    texts.append(value.strip())
                    for ref in refs:
                        names.setdefault(ref, {"name": {}, "zh": {}, "id": {}})[kind][
                            value.strip()
                        ] = None
            edge_keys.append(frozenset(normalise_name(t) for t in texts) - {""})
            u, v = int(edge_u[j]), int(edge_v[j])
            length = float(data.get("length") or 0.0) / 1000.0
            for ref in refs:
                pairs = pair_km.setdefault(ref, {})
                pair = (min(u, v), max(u, v))
                pairs[pair] = min(pairs.get(pair, math.inf), length)
        self._edge_refs = edge_refs
        self._edge_keys = edge_keys
        self._roads = {
            ref: Road(
                ref,
                tuple(names.get(ref, {}).get("name", {})),
                tuple(names.get(ref, {}).get("zh", {})),
                tuple(names.get(ref, {}).get("id", {})),
                round(sum(pair_km[ref].values()), 3),
            )
            for ref in sorted(pair_km, key=lambda r: (normalise_name(r), r))
        }
        self._node_ref: list[str | None] | None = None  # built on first label()

    # -- roads ---------------------------------------------------------------------------

    @property
    def roads(self) -> list[Road]:
        """Every road, sorted by ref."""
        return list(self._roads.values())

    def edge_mask(self, text: str) -> np.ndarray:
        """Return which edges a road text names: a ref, or an alias (``name``, ``name:zh``,
        ``fleetsim:road``), matched as place names are (case, ``_`` and ``-`` do not matter).

        Parameters
        ----------
        text
            A road ref or alias.

        Returns
        -------
        numpy.ndarray
            ``bool`` per edge, in edge order (all ``False`` for an unknown text).
        """
        key = normalise_name(str(text))
        return np.fromiter((key in keys for keys in self._edge_keys), bool, len(self._edge_keys))

    def unknown_road_message(self, text: str) -> str:
        """Return the message for a road text that names no edge: close matches and the hint.

        Parameters
        ----------
        text
            The road text given.
        """
        refs = list(self._roads)
        close = difflib.get_close_matches(str(text), refs, n=5, cutoff=0.5)
        if not close:
            aliases = [a for road in self._roads.values() for a in road.aliases]
            close = difflib.get_close_matches(str(text), aliases, n=5, cutoff=0.5)
        message = f"no road with ref {text!r} in network {self.source!r}"
        if not refs:
            return f"{message}; it has no road refs"
        hint = listing_hint("roads", self.source)
        if close:
            return f"{message}; did you mean: {', '.join(close)}? ({hint})"
        return f"{message}; {hint}"

    # -- labels --------------------------------------------------------------------------

    def node_ref(self, index: int) -> str | None:
        """Return the ref most edges at node ``index`` carry (alphabetical on a tie), or
        ``None`` when none has a ref.

        Parameters
        ----------
        index
            Node index.
        """
        if self._node_ref is None:
            counts: dict[int, Counter[str]] = {}  # only the nodes with a ref
            for j, refs in enumerate(self._edge_refs):
                for ref in refs:
                    for node in (int(self._u[j]), int(self._v[j])):
                        counts.setdefault(node, Counter())[ref] += 1
            node_ref: list[str | None] = [None] * self._lat.size
            for node, c in counts.items():
                node_ref[node] = min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            self._node_ref = node_ref
        return self._node_ref[int(index)]

    def label(self, index: int) -> str:
        """Return the human label of node ``index`` (the module's rule).

        Parameters
        ----------
        index
            Node index.
        """
        index = int(index)
        name = self._places.name_of(index)
        if name is not None:
            return name
        ref = self.node_ref(index)
        where = self._where(float(self._lat[index]), float(self._lon[index]))
        if where is None:
            return ref or f"node {int(self._node_ids[index])}"
        return f"{ref} {where}" if ref else where

    def point_label(self, lat: float, lon: float) -> str:
        """Return the label of a point off the nodes: ``"31 km NW of Xini"`` (no road ref; see
        :meth:`nearest_road`), or ``"LAT,LON"`` without named places.

        Parameters
        ----------
        lat, lon
            The point, degrees.
        """
        where = self._where(float(lat), float(lon))
        return where if where is not None else f"{lat:.5f},{lon:.5f}"

    def nearest_road(self, lat: float, lon: float) -> tuple[str | None, float]:
        """Return the ref of the road segment nearest to a point and its distance, km.

        Segments are straight lines between their nodes; the ref is ``None`` when the nearest
        segment has none (or the network has no edge).

        Parameters
        ----------
        lat, lon
            The point, degrees.
        """
        if not self._u.size:
            return None, math.inf
        u, v = self._u, self._v
        dist = segment_distance_km(lat, lon, self._lat[u], self._lon[u], self._lat[v], self._lon[v])
        with_ref = np.fromiter((bool(r) for r in self._edge_refs), bool, len(self._edge_refs))
        pick = dist if not with_ref.any() else np.where(with_ref, dist, np.inf)
        j = int(np.argmin(pick))
        refs = self._edge_refs[j]
        return (refs[0] if refs else None), float(dist[j])

    def _where(self, lat: float, lon: float) -> str | None:
        """``"12 km E of Xuejiawan"`` from the nearest named place, or ``None`` without one."""
        named = self._places.names
        if not named:
            return None
        idx = np.fromiter(named.values(), np.int64, len(named))
        d_km = haversine_m(self._lat[idx], self._lon[idx], lat, lon) / 1000.0
        k = int(np.argmin(d_km))
        place = self._places.name_of(int(idx[k])) or ""
        if d_km[k] < 0.05:
            return f"at {place}"
        plat, plon = float(self._lat[idx[k]]), float(self._lon[idx[k]])
        return f"{km_text(float(d_km[k]))} {compass(plat, plon, lat, lon)} of {place}"
