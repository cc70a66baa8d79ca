"""Loading and cleaning road networks: every source becomes a :class:`sim.network.RoadNetwork`.

Every source goes through one path (:func:`load_network`; :func:`from_graph` for a graph in
memory; :func:`cached_network` to load a source once per process) and yields the same object,
a :class:`~sim.network.RoadNetwork`:

* ``"ordos"``: the embedded coarse Ordos trunk network ``sim/data/ordos.osm`` (an OSM XML
  file, so it takes exactly the same OSMnx path as a user's extract);
* a path ending ``.osm``, ``.osm.bz2`` or ``.osm.xml``: an OpenStreetMap XML extract;
* a path ending ``.osm.pbf`` (or ``.pbf``): an OpenStreetMap PBF extract, streamed by pyosmium
  into the OSM XML path (:mod:`sim.netpbf`), so it gives the network of the same data as XML;
* a path ending ``.graphml``: a graph saved by OSMnx (or by :func:`sim.netexport.export`);
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
   reaches every other; :attr:`~sim.network.RoadNetwork.dropped_nodes` says how many nodes
   that removed.

Design: this module builds networks and :mod:`sim.network` routes on them. Dependencies point
one way: this module imports :mod:`sim.network` (and :mod:`sim.places` to index the node
names it cleans), never the reverse, so ``load_network`` is imported from here::

    from sim.netload import load_network
    network = load_network("ordos")
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from sim import netcache, netpbf
from sim.errors import NetworkError
from sim.geo import haversine_m
from sim.network import RoadData, RoadNetwork, resolve_profiles
from sim.places import NodeNames, PlaceIndex
from sim.vehicles import EXPRESSWAY_HIGHWAYS, SpeedProfile

__all__ = [
    "DEFAULT_SPEED_KPH",
    "FALLBACK_SPEED_KPH",
    "HIGHWAY_SETS",
    "cached_network",
    "from_graph",
    "load_network",
    "read_extract",
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
    "name:en",
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

#: Road classes kept by ``highways=`` (``fleetsim network import --highways``): ``drive``
#: is OSMnx's ``drive`` network (every drivable class but ``service``), ``main`` the classes
#: from ``tertiary`` up with their ``_link`` ramps (a regional network without local streets).
#: Without ``highways`` every drivable class is kept (OSMnx's ``drive_service``).
HIGHWAY_SETS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "drive": frozenset(DEFAULT_SPEED_KPH) - {"service"},
        "main": frozenset(
            c
            for base in ("motorway", "trunk", "primary", "secondary", "tertiary")
            for c in (base, f"{base}_link")
        ),
    }
)

_OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.xml")
_ACCEPTED = (
    "'ordos' (the embedded default), a path ending .osm, .osm.bz2, .osm.xml, .osm.pbf or "
    ".graphml, or 'place:<name>' (online OSMnx query)"
)
_MAX_SPEED_KPH = 300.0
_IMPLICIT_MAXSPEED = {"urban": 50.0, "rural": 80.0, "living_street": 20.0}
_UNIT_FACTOR = {"": 1.0, "km/h": 1.0, "kmh": 1.0, "kph": 1.0, "mph": 1.609344, "knots": 1.852}
_MAXSPEED_RE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|mph|knots)?")
_TRUE_STRINGS = frozenset({"yes", "true", "1"})
_SETTINGS_LOCK = threading.Lock()


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load_network(
    source: str | os.PathLike[str] = "ordos",
    *,
    profiles: Mapping[str, SpeedProfile] | None = None,
    clip: netpbf.Clip | None = None,
    highways: Collection[str] | None = None,
) -> RoadNetwork:
    """Load a road network from the embedded default, a file or an online query.

    Parameters
    ----------
    source
        ``"ordos"`` (the embedded coarse Ordos trunk network), a path ending ``.osm``,
        ``.osm.bz2``, ``.osm.xml`` (OSM XML), ``.osm.pbf`` (OSM PBF, read by pyosmium) or
        ``.graphml`` (OSMnx GraphML), or ``"place:<name>"`` for an online OSMnx
        ``graph_from_place`` query (needs internet).
    profiles
        Speed profiles per vehicle class; classes not given keep
        :data:`sim.vehicles.DEFAULT_SPEED_PROFILES`.
    clip
        OSM XML and PBF files only: keep only the road nodes inside this area
        (``keep(lon, lat)`` → boolean mask), before simplification, so every road segment
        with both ends inside survives and the ways are cut at its border
        (:mod:`sim.netimport` builds clips with a margin). Such a load bypasses the cache.
    highways
        OSM XML and PBF files only: keep only these road classes (``highway`` values; see
        :data:`HIGHWAY_SETS`). Such a load bypasses the cache.

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
    resolved = resolve_profiles(profiles)
    if isinstance(source, str) and source == "ordos":
        ref = resources.files("sim").joinpath("data", "ordos.osm")
        if not ref.is_file():
            raise NetworkError(
                "the embedded default network sim/data/ordos.osm is missing from the package"
            )
        with resources.as_file(ref) as path:
            data = _file_data(path, "ordos", _read_osm_xml)
        return RoadNetwork(data, profiles=resolved)
    if isinstance(source, str) and source.startswith("place:"):
        graph, removed = _read_place(source.removeprefix("place:").strip())
        return _build(graph, source, resolved, non_road_edges=removed)
    if not isinstance(source, str | os.PathLike):
        raise NetworkError(f"network source must be a string or path, got {source!r}")
    path = Path(source)
    name = path.name.lower()
    reader: Callable[..., tuple[nx.MultiDiGraph, int]]
    if name.endswith(_OSM_SUFFIXES):
        reader = _read_osm_xml
    elif netpbf.is_pbf(name):
        reader = _read_pbf
    elif name.endswith(".graphml"):
        reader = _read_graphml
    else:
        raise NetworkError(f"unrecognised network source {str(source)!r}; expected {_ACCEPTED}")
    if not path.is_file():
        raise NetworkError(f"network file not found: {path}")
    if clip is not None or highways is not None:
        return RoadNetwork(read_extract(path, clip=clip, highways=highways), profiles=resolved)
    return RoadNetwork(_file_data(path, str(source), reader), profiles=resolved)


def read_extract(
    path: str | os.PathLike[str],
    *,
    clip: netpbf.Clip | None = None,
    highways: Collection[str] | None = None,
) -> RoadData:
    """Read, clip and clean an OSM extract, without the cache: what ``network import`` writes.

    Parameters
    ----------
    path
        An OSM XML (``.osm``, ``.osm.bz2``, ``.osm.xml``) or PBF (``.osm.pbf``) file.
    clip, highways
        As for :func:`load_network`.

    Returns
    -------
    RoadData
        The cleaned graph (not frozen, without travel times) and its arrays.

    Raises
    ------
    NetworkError
        If the file is not an OSM extract, is missing or unreadable, or has no drivable road
        (inside the clip).
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith(_OSM_SUFFIXES):
        reader = _read_osm_xml
    elif netpbf.is_pbf(name):
        reader = _read_pbf
    else:
        raise NetworkError(
            f"{str(path)!r}: expected an OSM extract (.osm, .osm.bz2, .osm.xml or .osm.pbf)"
        )
    if not path.is_file():
        raise NetworkError(f"network file not found: {path}")
    keep = None if highways is None else frozenset(highways)
    graph, removed = reader(path, clip=clip, highways=keep)
    return _clean(graph, str(path), non_road_edges=removed)


def _file_data(
    path: Path, label: str, reader: Callable[[Path], tuple[nx.MultiDiGraph, int]]
) -> RoadData:
    """The cleaned data of a network file, through the on-disk cache (:mod:`sim.netcache`).

    The cache is keyed by the file's bytes, not its name, so the entry is relabelled with
    ``label`` (the source as given now); its arrays are made read-only again.
    """

    def build() -> RoadData:
        graph, removed = reader(path)
        return _clean(graph, label, non_road_edges=removed)

    data = netcache.load_or_build(path, build, kind=RoadData, options={"reader": reader.__name__})
    if data.source != label:
        data.places.source = label
        data = replace(data, source=label)
    for value in vars(data).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    return data


def from_graph(
    graph: nx.MultiDiGraph,
    *,
    source: str = "graph",
    profiles: Mapping[str, SpeedProfile] | None = None,
) -> RoadNetwork:
    """Build a network from an OSMnx-style graph already in memory.

    Parameters
    ----------
    graph
        A ``networkx.MultiDiGraph`` in OSMnx conventions: nodes with ``x`` (lon) and ``y``
        (lat) in EPSG:4326, edges with ``highway`` and preferably ``length`` (m). It is
        copied, then cleaned as described in the module docstring.
    source
        A label for where the graph came from (shown by :meth:`RoadNetwork.info`).
    profiles
        Speed profiles per vehicle class; classes not given keep
        :data:`sim.vehicles.DEFAULT_SPEED_PROFILES`.

    Returns
    -------
    RoadNetwork
        The cleaned network.

    Raises
    ------
    NetworkError
        If ``graph`` is not a ``MultiDiGraph``, has projected coordinates, non-integer node
        ids or no drivable road.
    """
    if not isinstance(graph, nx.MultiDiGraph):
        raise NetworkError(f"RoadNetwork needs a networkx.MultiDiGraph, got {type(graph).__name__}")
    resolved = resolve_profiles(profiles)
    return _build(graph.copy(), str(source), resolved, non_road_edges=0)


def _build(
    graph: nx.MultiDiGraph,
    source: str,
    profiles: Mapping[str, SpeedProfile],
    *,
    non_road_edges: int,
) -> RoadNetwork:
    """Clean a graph the caller hands over (in place, no copy) and build its network."""
    return RoadNetwork(_clean(graph, source, non_road_edges=non_road_edges), profiles=profiles)


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


def _read_osm_xml(
    path: Path,
    *,
    clip: netpbf.Clip | None = None,
    highways: frozenset[str] | None = None,
    label: str | None = None,
) -> tuple[nx.MultiDiGraph, int]:
    with _osmnx_tags() as ox:
        try:
            graph = ox.graph_from_xml(path, simplify=False, retain_all=True)
        except Exception as exc:  # XML, bz2 and OSMnx errors all mean "unreadable"
            if label is not None and type(exc).__name__ == "InsufficientResponseError":
                raise NetworkError(
                    f"network {label!r} has no drivable road (no way with a `highway` tag"
                    f"{' inside the clip area' if clip is not None else ''})"
                ) from exc
            raise NetworkError(f"cannot read OSM XML file {label or path}: {exc}") from exc
    if clip is not None:
        _clip_nodes(graph, clip)
    return _simplify(graph, highways)


def _read_pbf(
    path: Path,
    *,
    clip: netpbf.Clip | None = None,
    highways: frozenset[str] | None = None,
) -> tuple[nx.MultiDiGraph, int]:
    """A PBF extract: its roads streamed to OSM XML by pyosmium, then read as OSM XML."""
    with tempfile.TemporaryDirectory(prefix="fleetsim-pbf-") as tmp:
        xml = Path(tmp) / "roads.osm"
        dropped = netpbf.extract_roads(path, xml, clip=clip)
        graph, removed = _read_osm_xml(xml, clip=clip, highways=highways, label=str(path))
    return graph, removed + dropped


def _clip_nodes(graph: nx.MultiDiGraph, clip: netpbf.Clip) -> None:
    """Remove the nodes outside ``clip`` (and with them the road segments that leave it)."""
    nodes = list(graph.nodes)
    lon = np.fromiter((graph.nodes[n]["x"] for n in nodes), float, len(nodes))
    lat = np.fromiter((graph.nodes[n]["y"] for n in nodes), float, len(nodes))
    inside = np.asarray(clip(lon, lat), dtype=bool)
    graph.remove_nodes_from([n for n, keep in zip(nodes, inside.tolist(), strict=True) if not keep])


def _read_graphml(path: Path, **_: Any) -> tuple[nx.MultiDiGraph, int]:
    import osmnx as ox

    try:
        graph = ox.load_graphml(path)
    except Exception as exc:  # XML, type-conversion and OSMnx errors
        raise NetworkError(f"cannot read GraphML file {path}: {exc}") from exc
    return graph, 0


#: Seconds an online ``place:`` query may take in all (each request, connect and read, gets the
#: same limit); ``FLEETSIM_PLACE_TIMEOUT`` overrides it.
PLACE_TIMEOUT_S = 30.0


def place_timeout_s() -> float:
    """The time limit of an online ``place:`` query, seconds (``FLEETSIM_PLACE_TIMEOUT``)."""
    raw = os.environ.get("FLEETSIM_PLACE_TIMEOUT", "")
    try:
        value = float(raw) if raw else PLACE_TIMEOUT_S
    except ValueError:
        raise NetworkError(
            f"FLEETSIM_PLACE_TIMEOUT must be a number of seconds, got {raw!r}"
        ) from None
    if not 0 < value < math.inf:
        raise NetworkError(f"FLEETSIM_PLACE_TIMEOUT must be > 0 seconds, got {raw!r}")
    return value


def _read_place(name: str) -> tuple[nx.MultiDiGraph, int]:
    if not name:
        raise NetworkError(f"empty place query; expected {_ACCEPTED}")
    timeout = place_timeout_s()
    print(
        f"fleetsim: querying OpenStreetMap for {name!r} (online; at most {timeout:g} s, "
        "FLEETSIM_PLACE_TIMEOUT) ...",
        file=sys.stderr,
        flush=True,
    )
    box: dict[str, Any] = {}
    with _osmnx_tags() as ox:
        old_timeout = ox.settings.requests_timeout
        ox.settings.requests_timeout = timeout  # connect and read, per request

        def query() -> None:
            try:
                box["graph"] = ox.graph_from_place(
                    name, network_type="drive", simplify=False, retain_all=True
                )
            except Exception as exc:  # network, geocoding and OSMnx errors
                box["error"] = exc

        # A stalled proxy can hold a request past its socket timeouts (retries, slow drips):
        # the query runs in a daemon thread and is abandoned at the total time limit.
        worker = threading.Thread(target=query, name="fleetsim-place-query", daemon=True)
        worker.start()
        worker.join(timeout)
        ox.settings.requests_timeout = old_timeout
    if worker.is_alive():
        raise NetworkError(
            f"online OSMnx query for place {name!r} timed out after {timeout:g} s (a slow "
            "or stalled connection or proxy); set FLEETSIM_PLACE_TIMEOUT to wait longer, or "
            "download an extract and load the .osm/.pbf file"
        )
    if "error" in box:
        exc = box["error"]
        raise NetworkError(f"online OSMnx query for place {name!r} failed: {exc}") from exc
    return _simplify(box["graph"])


def _simplify(
    graph: nx.MultiDiGraph, highways: frozenset[str] | None = None
) -> tuple[nx.MultiDiGraph, int]:
    """Drop non-roads (and classes not in ``highways``), apply circuity per raw segment, then
    simplify keeping class bounds."""
    import osmnx as ox

    removed = _drop_non_roads(graph, highways)
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


_CLASS_TAGS = ("area", "access", "motor_vehicle", "motorcar", "service", "highway")


def road_class(data: Mapping[str, Any]) -> str | None:
    """Return the edge's drivable highway class, or ``None`` if it is not a road."""
    key = tuple(data.get(tag) for tag in _CLASS_TAGS)
    if all(v is None or type(v) is str for v in key):  # the usual case: memoised
        return _road_class_of(key)  # type: ignore[arg-type]
    return _road_class(data)


@functools.lru_cache(maxsize=4096)
def _road_class_of(key: tuple[str | None, ...]) -> str | None:
    return _road_class({tag: v for tag, v in zip(_CLASS_TAGS, key, strict=True) if v is not None})


def _road_class(data: Mapping[str, Any]) -> str | None:
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


def parse_maxspeed(value: Any) -> float | None:
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
        parsed = [parse_maxspeed(v) for v in value]
        usable = [v for v in parsed if v is not None]
        return max(usable) if usable else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        speed = float(value)
        return speed if 0 < speed <= _MAX_SPEED_KPH else None
    text = str(value).strip().lower()
    if any(sep in text for sep in ";|"):
        return parse_maxspeed(re.split(r"[;|]", text))
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


def _drop_non_roads(graph: nx.MultiDiGraph, highways: frozenset[str] | None = None) -> int:
    """Remove non-road edges (and roads of a class not in ``highways``), then nodes without a
    road; return the number of edges removed."""
    bad = [
        (u, v, k)
        for u, v, k, d in graph.edges(keys=True, data=True)
        if (cls := road_class(d)) is None or (highways is not None and cls not in highways)
    ]
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


def _clean(graph: nx.MultiDiGraph, source: str, *, non_road_edges: int) -> RoadData:
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
    index = {int(node_id): i for i, node_id in enumerate(node_ids)}

    # Node attributes and names.
    for node in nodes:
        _normalise_node(graph.nodes[node])
    zone = np.array([graph.nodes[nd]["zone"] for nd in nodes], dtype=np.str_)
    central = np.array([graph.nodes[nd]["central"] for nd in nodes], dtype=bool)
    named = {
        i: names
        for i, names in enumerate(_node_names(graph.nodes[nd]) for nd in nodes)
        if names is not None
    }

    # Edges: class, length, speed.
    m = graph.number_of_edges()
    edge_u = np.empty(m, np.int64)
    edge_v = np.empty(m, np.int64)
    edge_length = np.empty(m)
    edge_speed = np.empty(m)
    expressway = np.empty(m, bool)
    for j, (u, v, data) in enumerate(graph.edges(data=True)):
        _apply_circuity(data)
        highway = road_class(data)
        assert highway is not None  # non-roads were dropped above
        iu, iv = index[_int_id(u)], index[_int_id(v)]
        length = _parse_positive(data.get("length"))
        if length is None:
            length = 0.0 if iu == iv else float(haversine_m(lat[iu], lon[iu], lat[iv], lon[iv]))
        posted = parse_maxspeed(data.get("maxspeed"))
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
    return RoadData(
        source=source,
        graph=graph,
        node_ids=node_ids,
        lat=lat,
        lon=lon,
        zone=zone,
        central=central,
        seats=np.asarray(
            [i for i, n in enumerate(nodes) if graph.nodes[n].get("kind") == "seat"],
            dtype=np.int64,
        ),
        edge_u=edge_u,
        edge_v=edge_v,
        edge_length=edge_length,
        edge_speed=edge_speed,
        places=PlaceIndex(source, node_ids, lat, lon, named),
        edge_expressway=expressway,
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


def _node_names(data: Mapping[str, Any]) -> NodeNames | None:
    """The names of a cleaned node, or ``None`` when it is not a named place."""
    zh = _text(data.get("name:zh"))
    if not (data["name"] or data["place"] or zh):
        return None
    alt = data.get("alt_name")
    alts = alt if isinstance(alt, list | tuple) else str(alt or "").split(";")
    return NodeNames(
        name=data["name"],
        place=data["place"],
        name_zh=zh,
        alt_names=tuple(str(a) for a in alts if str(a).strip()),
    )
