"""Places: from a name or a point to a node (``locate``) and from a node to its label.

A :class:`PlaceIndex` holds the names and coordinates of a network's nodes; it knows nothing
about roads. :mod:`sim.netload` builds one while cleaning a network and every
:class:`sim.network.RoadNetwork` carries it as :attr:`~sim.network.RoadNetwork.places` (copies
made for other speed profiles or closures share it: their nodes are the same)::

    node = network.places.locate("Kangbashi")       # or "39.61,109.78"
    network.places.label(node)                      # "Kangbashi"; "node 123" when unnamed

Dependencies point one way: this module uses only :mod:`sim.geo` and :mod:`sim.errors`.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.errors import NetworkError, ValidationError
from sim.geo import bbox, unit_vectors

__all__ = ["NodeNames", "PlaceIndex", "listing_hint", "normalise_name", "parse_lat_lon"]


@dataclass(frozen=True)
class NodeNames:
    """The names a node is known by (cleaned tags of the OSM node).

    Parameters
    ----------
    name
        ``name``, the display name.
    place
        ``fleetsim:place``, a stable id such as ``"kangbashi"``.
    name_zh
        ``name:zh``.
    alt_names
        The ``;``-separated values of ``alt_name``.
    """

    name: str | None = None
    place: str | None = None
    name_zh: str | None = None
    alt_names: tuple[str, ...] = ()


class PlaceIndex:
    """Names and coordinates of a network's nodes, for lookup both ways.

    Parameters
    ----------
    source
        The network's source (named in error messages).
    node_ids
        Graph node id of each node index.
    lat, lon
        Node coordinates, degrees.
    named
        Node index → its names, for the nodes that have any.

    A node is a *named place* when it has a ``name``, a ``fleetsim:place`` id or a
    ``name:zh``; its display name is the first of these. When two nodes share a name the
    first node wins.
    """

    def __init__(
        self,
        source: str,
        node_ids: np.ndarray,
        lat: np.ndarray,
        lon: np.ndarray,
        named: Mapping[int, NodeNames],
    ) -> None:
        self.source = source
        self._node_ids = node_ids
        self._lat = lat
        self._lon = lon
        self._labels = {i: n.name or n.place for i, n in named.items() if n.name or n.place}
        self._names: dict[str, int] = {}
        self._aliases: dict[str, int] = {}
        self._display: dict[int, str] = {}
        self._named: dict[int, NodeNames] = {}
        records = []
        for i in sorted(named):
            n = named[i]
            display = n.name or n.place or n.name_zh
            if display is None:
                continue
            self._names.setdefault(display, i)
            self._display[i] = display
            self._named[i] = n
            records.append((i, display, n))
        # Priority: display names, then place ids, then Chinese names, then alt_name aliases.
        for i, display, _ in records:
            self._aliases.setdefault(normalise_name(display), i)
        for i, _, n in records:
            if n.place:
                self._aliases.setdefault(normalise_name(n.place), i)
        for i, _, n in records:
            if n.name_zh:
                self._aliases.setdefault(normalise_name(n.name_zh), i)
        for i, _, n in records:
            for alt in n.alt_names:
                self._aliases.setdefault(normalise_name(alt), i)
        self._aliases.pop("", None)
        self._kdtree: list[Any] = []  # built on first nearest_node()

    @property
    def names(self) -> dict[str, int]:
        """Display name → node index of every named place."""
        return dict(self._names)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """``(south, west, north, east)`` of the nodes, in degrees."""
        return bbox(self._lat, self._lon)

    def name_of(self, index: int) -> str | None:
        """Return the display name of node ``index``, or ``None`` when it is not a named place.

        Parameters
        ----------
        index
            Node index.
        """
        return self._display.get(int(index))

    def entries(self) -> list[tuple[int, str, NodeNames]]:
        """Return every named place: ``(node index, display name, its names)``, by node index.

        Every name given (display name, ``fleetsim:place`` id, ``name:zh``, ``alt_name``)
        is accepted by :meth:`locate`, unless an earlier node took it.
        """
        return [(i, self._display[i], n) for i, n in self._named.items()]

    def label(self, index: int, *, with_id: bool = False) -> str:
        """Return the human label of node ``index``: the one rule every output uses.

        Parameters
        ----------
        index
            Node index.
        with_id
            Append the graph node id to a name: ``"Kangbashi (node 3)"``.

        Returns
        -------
        str
            The node's ``name``, else its ``fleetsim:place`` id, else ``"node <id>"``.
        """
        node_id = int(self._node_ids[index])
        name = self._labels.get(int(index))
        if name is None:
            return f"node {node_id}"
        return f"{name} (node {node_id})" if with_id else name

    def lat_lon(self, index: int) -> str:
        """Return ``"LAT,LON"`` of node ``index`` (full precision): :meth:`locate` maps it back.

        Parameters
        ----------
        index
            Node index.
        """
        return f"{float(self._lat[index])!r},{float(self._lon[index])!r}"

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
        if not self._kdtree:
            from scipy.spatial import cKDTree

            self._kdtree.append(cKDTree(unit_vectors(self._lat, self._lon)))
        _, index = self._kdtree[0].query(unit_vectors(np.array([lat]), np.array([lon]))[0])
        return int(index)

    def locate(self, text: str) -> int:
        """Return the node index for a place name or a ``"LAT,LON"`` string.

        Names match case-insensitively (``_`` and ``-`` count as spaces) against the display
        name, the ``fleetsim:place`` id, ``name:zh`` and every ``alt_name`` alias. A
        coordinate pair gives the nearest node, if it lies within the network's bounding
        box plus a margin of 10 % of its extent (at least 0.01°).

        Parameters
        ----------
        text
            A place name or ``"LAT,LON"``.

        Raises
        ------
        NetworkError
            For an unknown name (listing close matches) or a point outside the bounding box.
        ValidationError
            If ``text`` is not a string or the coordinates are out of range.
        """
        if not isinstance(text, str) or not text.strip():
            raise ValidationError(f"place must be a name or 'LAT,LON', got {text!r}")
        point = parse_lat_lon(text)
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
        key = normalise_name(text)
        index = self._aliases.get(key)
        if index is not None:
            return index
        raise NetworkError(self._unknown_place_message(text, key))

    def point(self, text: str) -> tuple[float, float]:
        """Return the ``(lat, lon)`` a place text stands for, after checking it as :meth:`locate`.

        A ``"LAT,LON"`` text gives that point itself (not its nearest node); a name gives the
        coordinates of its node.

        Parameters
        ----------
        text
            A place name or ``"LAT,LON"``.

        Raises
        ------
        NetworkError, ValidationError
            As :meth:`locate`.
        """
        node = self.locate(text)
        point = parse_lat_lon(text)
        return point if point is not None else (self._lat[node], self._lon[node])

    def _unknown_place_message(self, text: str, key: str) -> str:
        names = {idx: name for name, idx in self._names.items()}
        close = difflib.get_close_matches(key, list(self._aliases), n=8, cutoff=0.6)
        suggestions = list(dict.fromkeys(names[self._aliases[c]] for c in close))[:5]
        message = f"unknown place {text!r} in network {self.source!r}"
        if not names:
            return f"{message}; it has no named places, give a point as 'LAT,LON'"
        hint = listing_hint("places", self.source)
        if suggestions:
            return f"{message}; did you mean: {', '.join(suggestions)}? ({hint})"
        return f"{message}; {hint}; or give a point as 'LAT,LON'"


def listing_hint(what: str, source: str) -> str:
    """Return the hint naming the command that lists every ``what`` of a network.

    Parameters
    ----------
    what
        ``"places"`` or ``"roads"``.
    source
        The network's source (``--network`` is added unless it is the default ``ordos``).
    """
    option = "" if source == "ordos" else f" --network {source}"
    return f"`fleetsim network {what}{option}` lists them all, with their aliases"


def normalise_name(text: str) -> str:
    """Return ``text`` as names are compared: case-folded, ``_`` and ``-`` as spaces.

    Parameters
    ----------
    text
        A name (or a road ref).
    """
    return " ".join(re.sub(r"[_\-]", " ", text).casefold().split())


def parse_lat_lon(text: str) -> tuple[float, float] | None:
    """Return ``(lat, lon)`` if ``text`` is ``"LAT,LON"``, else ``None`` (ranges unchecked).

    Parameters
    ----------
    text
        Any text.
    """
    parts = text.split(",")
    if len(parts) != 2:
        return None
    try:
        return float(parts[0]), float(parts[1])
    except ValueError:
        return None


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
