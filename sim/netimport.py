"""``fleetsim network import``: cut a region out of an OSM extract, zone it, write a GraphML file.

A planner's road network starts as an OpenStreetMap extract (``.osm.pbf`` of a country, or
``.osm``/``.osm.bz2``). :func:`import_network`

1. **clips** it to a region (:func:`parse_clip`): a bounding box ``W,S,E,N``, the polygons of
   a GeoJSON/GeoPackage file, or ``ordos`` (the embedded network's Ordos nodes), widened by a
   margin (:data:`DEFAULT_MARGIN_KM`) so roads that leave and re-enter near the border
   survive; every road segment with both ends inside the widened area is kept and ways are
   cut at its border;
2. keeps the drivable roads (``highways``: :data:`sim.netload.HIGHWAY_SETS`) and **cleans**
   them as every load does (speeds, largest strongly connected component: :mod:`sim.netload`);
3. **zones** the nodes (:class:`Zoning`): banner/district names from polygons (a node takes the
   first polygon, in file order, that covers it; ``outside`` when none does), the central urban
   area from polygons, and named places (seats, towns, toll stations) from a CSV of points,
   each snapped to its nearest road node with the distance reported. With ``--clip ordos``
   and nothing else given, the embedded network's rules carry over: a node takes the zone of
   the nearest node of the embedded network (whose zones follow the nearest-seat rule of
   ``data/ordos/zones.yaml``), is central within the radii of that file's centres, and the
   embedded places (seats, towns, toll stations, anchors) are snapped onto it, so a scenario
   that names them (``ordos-123``: ``kangbashi``, ``xuejiawan``, the depots' seats) runs
   unchanged on the import;
4. writes a GraphML file **atomically** (a temporary sibling renamed into place) that
   :func:`sim.netload.load_network` reloads with the same nodes, zones, places and travel
   times, and through the network cache after its first load.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import NetworkError, OutputError, ValidationError
from sim.folders import disk_error
from sim.geo import haversine_m, unit_vectors
from sim.locations import DEFAULT_MAX_SNAP_KM
from sim.netexport import save_graphml
from sim.netload import HIGHWAY_SETS, load_network, read_extract
from sim.network import RoadData, RoadNetwork

__all__ = [
    "DEFAULT_MARGIN_KM",
    "ORDOS_CENTRES",
    "ClipArea",
    "ImportResult",
    "PlacePoint",
    "PlacedPoint",
    "Zoning",
    "embedded_places",
    "import_network",
    "parse_clip",
    "place_points",
    "polygon_mask",
    "polygon_zones",
    "read_places",
]

#: Margin (km) added around a clip area so border roads survive.
DEFAULT_MARGIN_KM = 10.0
#: The central urban area of the embedded network (``data/ordos/zones.yaml``, ``central``):
#: place id and radius, km. A node within a radius, and not ``outside``, is central.
ORDOS_CENTRES: tuple[tuple[str, float], ...] = (
    ("dongsheng", 10.0),
    ("kangbashi", 7.0),
    ("altan_xire", 6.0),
)
_KM_PER_DEG = 111.195  # great-circle km per degree of latitude (R = 6371 km)
_POLYGON_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp")
_OUTSIDE = "outside"
#: Edge attributes an import leaves out of its file: the loader recomputes ``speed_kph``, and
#: ``reversed`` (OSMnx's note of which way a two-way street was drawn) is never read.
_NOT_WRITTEN = ("speed_kph", "reversed")


# --------------------------------------------------------------------------------------------
# Clip areas
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipArea:
    """A region to cut out of an extract, with its margin.

    Attributes
    ----------
    label
        How it was given (``"ordos"``, the bounding box, the file).
    bounds
        ``(west, south, east, north)`` of the area itself, degrees.
    margin_km
        The margin added around it.
    geometry
        The area widened by the margin (a shapely geometry in lon/lat), or ``None`` for a
        bounding box, whose widened bounds are :attr:`outer`.
    outer
        ``(west, south, east, north)`` of the widened area.
    """

    label: str
    bounds: tuple[float, float, float, float]
    margin_km: float
    geometry: Any = None
    outer: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def keep(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Boolean mask of the points inside the widened area (borders included)."""
        lon, lat = np.asarray(lon, float), np.asarray(lat, float)
        west, south, east, north = self.outer
        inside = (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
        if self.geometry is not None and inside.any():
            import shapely

            inside[inside] = shapely.intersects_xy(self.geometry, lon[inside], lat[inside])
        return inside


def _widen_bounds(
    bounds: tuple[float, float, float, float], km: float
) -> tuple[float, float, float, float]:
    west, south, east, north = bounds
    dlat = km / _KM_PER_DEG
    cos = max(math.cos(math.radians(min(89.0, max(abs(south), abs(north)) + dlat))), 1e-6)
    dlon = km / (_KM_PER_DEG * cos)
    return (
        max(west - dlon, -180.0),
        max(south - dlat, -90.0),
        min(east + dlon, 180.0),
        min(north + dlat, 90.0),
    )


def parse_clip(text: str, *, margin_km: float = DEFAULT_MARGIN_KM) -> ClipArea:
    """Read a clip area: ``W,S,E,N`` (degrees), a polygon file, or ``ordos``.

    Parameters
    ----------
    text
        ``"W,S,E,N"`` (west, south, east, north in degrees, the order of ``osmium extract
        -b`` and of GeoJSON bounding boxes); a ``.geojson``, ``.json``, ``.gpkg`` or ``.shp``
        file whose polygons, united, are the area; or ``"ordos"``: the bounding box of the
        embedded network's nodes inside Ordos.
    margin_km
        Margin added around the area, km (>= 0).

    Raises
    ------
    ValidationError
        For a malformed bounding box (naming the value and the rule broken) or margin.
    NetworkError
        For a polygon file that is missing, unreadable or holds no polygon.
    """
    if not (isinstance(margin_km, int | float) and math.isfinite(margin_km) and margin_km >= 0):
        raise ValidationError(f"`--margin-km` must be a number >= 0, got {margin_km!r}")
    text = str(text).strip()
    if text.lower() == "ordos":
        ordos = load_network("ordos")
        inside = ordos.zone != _OUTSIDE
        lon, lat = ordos.lon[inside], ordos.lat[inside]
        bounds = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
        return ClipArea("ordos", bounds, margin_km, None, _widen_bounds(bounds, margin_km))
    if text.lower().endswith(_POLYGON_SUFFIXES):
        return _polygon_clip(Path(text), margin_km)
    bounds = _parse_bbox(text)
    return ClipArea(text, bounds, margin_km, None, _widen_bounds(bounds, margin_km))


def _parse_bbox(text: str) -> tuple[float, float, float, float]:
    what = f"--clip {text!r}"
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise ValidationError(
            f"{what}: expected a bounding box W,S,E,N (4 numbers: west, south, east, north in "
            "degrees), a .geojson/.gpkg polygon file, or 'ordos'"
        )
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        raise ValidationError(f"{what}: W,S,E,N must be numbers (degrees)") from None
    problems = []
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        problems.append("every value must be finite")
    else:
        for name, value in (("west", west), ("east", east)):
            if not -180.0 <= value <= 180.0:
                problems.append(f"{name} {value:g} is not a longitude in -180..180")
        for name, value in (("south", south), ("north", north)):
            if not -90.0 <= value <= 90.0:
                problems.append(f"{name} {value:g} is not a latitude in -90..90")
        if west >= east:
            problems.append(f"west {west:g} must be less than east {east:g}")
        if south >= north:
            problems.append(f"south {south:g} must be less than north {north:g}")
    if problems:
        raise ValidationError(f"{what}: {'; '.join(problems)} (the order is W,S,E,N)")
    return west, south, east, north


def _read_frame(path: Path, what: str) -> Any:
    """A GeoDataFrame of a vector file, in EPSG:4326."""
    if not path.is_file():
        raise NetworkError(f"{what} file not found: {path}")
    import geopandas as gpd

    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio/GDAL errors of every kind mean "unreadable"
        raise NetworkError(f"cannot read {what} from {path}: {exc}") from exc
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    polygons = frame.geometry.notna() & frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    if not polygons.any():
        raise NetworkError(f"{what} file {path} holds no Polygon or MultiPolygon")
    return frame[polygons]


def _polygon_clip(path: Path, margin_km: float) -> ClipArea:
    import shapely

    frame = _read_frame(path, "clip polygons")
    area = shapely.union_all(frame.geometry.to_numpy())
    west, south, east, north = (float(v) for v in area.bounds)
    lat0 = math.radians((south + north) / 2.0)
    cos = max(math.cos(lat0), 1e-6)

    def scale(coords: np.ndarray, k: float) -> np.ndarray:
        return np.column_stack((coords[:, 0] * k, coords[:, 1]))

    # buffer in a local equirectangular frame (x = lon cos lat0), then back to degrees
    flat = shapely.transform(area, lambda c: scale(c, cos))
    widened = shapely.transform(flat.buffer(margin_km / _KM_PER_DEG), lambda c: scale(c, 1 / cos))
    shapely.prepare(widened)
    outer = tuple(float(v) for v in widened.bounds)
    return ClipArea(str(path), (west, south, east, north), margin_km, widened, outer)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Zones and places
# --------------------------------------------------------------------------------------------


def polygon_zones(
    lat: np.ndarray, lon: np.ndarray, path: str | os.PathLike[str], name_field: str = "name"
) -> np.ndarray:
    """The zone of each point: the ``name_field`` of the first polygon covering it.

    Parameters
    ----------
    lat, lon
        Points, degrees.
    path
        A GeoJSON/GeoPackage file of banner/district polygons (reprojected to EPSG:4326).
    name_field
        The attribute holding each polygon's zone name.

    Returns
    -------
    numpy.ndarray
        ``str`` zone per point; ``"outside"`` where no polygon covers it.

    Raises
    ------
    NetworkError
        If the file is missing or unreadable, holds no polygon, lacks ``name_field`` or has
        an empty name.
    """
    import shapely

    path = Path(path)
    frame = _read_frame(path, "zone polygons")
    if name_field not in frame.columns:
        fields = ", ".join(str(c) for c in frame.columns if c != "geometry") or "none"
        raise NetworkError(
            f"zone polygons {path}: no field {name_field!r} (its fields: {fields}); "
            "give the one holding the banner/district names"
        )
    names = ["" if v is None else str(v).strip() for v in frame[name_field].tolist()]
    if not all(names) or _OUTSIDE in names:
        raise NetworkError(
            f"zone polygons {path}: every polygon needs a name in {name_field!r} other than "
            f"{_OUTSIDE!r}"
        )
    zone = np.full(np.shape(lat), _OUTSIDE, dtype=object)
    free = np.ones(np.shape(lat), dtype=bool)
    for name, geometry in zip(names, frame.geometry.to_numpy(), strict=True):
        if not free.any():
            break
        shapely.prepare(geometry)
        hit = np.zeros_like(free)
        hit[free] = shapely.intersects_xy(geometry, np.asarray(lon)[free], np.asarray(lat)[free])
        zone[hit] = name
        free &= ~hit
    return zone.astype(str)


def polygon_mask(lat: np.ndarray, lon: np.ndarray, path: str | os.PathLike[str]) -> np.ndarray:
    """Whether each point lies in (or on) one of the polygons of a file (the central area).

    Raises
    ------
    NetworkError
        If the file is missing or unreadable or holds no polygon.
    """
    import shapely

    frame = _read_frame(Path(path), "central-area polygons")
    area = shapely.union_all(frame.geometry.to_numpy())
    shapely.prepare(area)
    return np.asarray(shapely.intersects_xy(area, np.asarray(lon), np.asarray(lat)), dtype=bool)


@dataclass(frozen=True)
class PlacePoint:
    """A named point to put on the network (a seat, a town, a toll station).

    Attributes
    ----------
    name
        Display name.
    lat, lon
        Coordinates, degrees (WGS84).
    place
        Place id (``kangbashi``), or ``None``.
    attrs
        Further node attributes: ``name:zh``, ``alt_name``, ``kind`` (``seat`` makes a
        banner/district seat), ``zone``, ``central``, ``toll``, ``toll_removed``.
    """

    name: str
    lat: float
    lon: float
    place: str | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PlacedPoint:
    """A :class:`PlacePoint` snapped to a network node (``node`` is ``None`` when too far)."""

    point: PlacePoint
    node: int | None
    km: float


_CSV_COLUMNS = {
    "name": ("name", "name_en"),
    "lat": ("lat", "latitude", "y"),
    "lon": ("lon", "lng", "longitude", "x"),
    "place": ("id", "place"),
    "name:zh": ("name_zh", "name:zh"),
    "alt_name": ("aliases", "alt_name"),
    "kind": ("kind",),
    "zone": ("zone", "banner"),
}


def read_places(path: str | os.PathLike[str]) -> list[PlacePoint]:
    """Read named points from a CSV file.

    Columns (header names, case-insensitive): ``name`` (or ``name_en``), ``lat``, ``lon``;
    optional ``id`` (place id), ``name_zh``, ``aliases`` (``;``-separated), ``kind``
    (``seat``, or anything ending ``_seat``, makes a seat), ``zone`` (or ``banner``).
    ``../shared/data/ordos/places.csv`` is such a file.

    Raises
    ------
    NetworkError
        If the file is missing or unreadable, lacks a column, or a row has no name or bad
        coordinates (naming the file and the line).
    """
    path = Path(path)
    if not path.is_file():
        raise NetworkError(f"places file not found: {path}")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
            header = {h.strip().lower(): h for h in (rows[0].keys() if rows else [])}
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise NetworkError(f"cannot read places from {path}: {exc}") from exc
    columns = {}
    for key, names in _CSV_COLUMNS.items():
        found = next((header[n] for n in names if n in header), None)
        if found is None and key in ("name", "lat", "lon"):
            raise NetworkError(
                f"places file {path}: no {key!r} column (accepted: {', '.join(names)})"
            )
        columns[key] = found
    points = []
    for line, row in enumerate(rows, start=2):
        name = (row.get(columns["name"]) or "").strip()
        try:
            lat, lon = float(row[columns["lat"]]), float(row[columns["lon"]])
        except (TypeError, ValueError):
            raise NetworkError(
                f"places file {path}, line {line}: lat/lon must be numbers"
            ) from None
        if not name or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise NetworkError(
                f"places file {path}, line {line}: needs a name and lat in -90..90, lon in "
                "-180..180"
            )
        attrs: dict[str, Any] = {}
        for key in ("name:zh", "alt_name", "kind", "zone"):
            value = (row.get(columns[key]) or "").strip() if columns[key] else ""
            if value:
                attrs[key] = value
        if attrs.get("kind", "").endswith("seat"):
            attrs["kind"] = "seat"
        place = (row.get(columns["place"]) or "").strip() if columns["place"] else ""
        points.append(PlacePoint(name, lat, lon, place or None, attrs))
    return points


_CARRIED = ("name:zh", "alt_name", "kind", "zone", "central", "toll", "toll_removed")


def embedded_places() -> list[PlacePoint]:
    """The named places of the embedded Ordos network, with their node attributes."""
    ordos = load_network("ordos")
    points = []
    for i, display, names in ordos.places.entries():
        node = ordos.node(i)
        attrs = {k: node[k] for k in _CARRIED if node.get(k) not in (None, "")}
        if names.alt_names:
            attrs["alt_name"] = ";".join(names.alt_names)
        name = names.name or display
        points.append(
            PlacePoint(name, float(ordos.lat[i]), float(ordos.lon[i]), names.place, attrs)
        )
    return points


def place_points(
    network: RoadNetwork, points: Sequence[PlacePoint], *, max_km: float = DEFAULT_MAX_SNAP_KM
) -> list[PlacedPoint]:
    """Snap named points to their nearest free road node (one place per node).

    A point whose nearest node already holds an earlier point takes the next nearest free
    one; a point farther than ``max_km`` from every free node is not placed (``node`` None).
    """
    from scipy.spatial import cKDTree

    tree = cKDTree(unit_vectors(network.lat, network.lon))
    taken: set[int] = set()
    placed = []
    k = min(16, network.n_nodes)
    for point in points:
        _, idx = tree.query(unit_vectors(np.array([point.lat]), np.array([point.lon]))[0], k=k)
        candidates = [int(i) for i in np.atleast_1d(idx) if int(i) not in taken]
        node, km = None, math.inf
        if candidates:
            i = candidates[0]
            km = float(haversine_m(point.lat, point.lon, network.lat[i], network.lon[i])) / 1e3
            if km <= max_km:
                node = i
                taken.add(i)
        placed.append(PlacedPoint(point, node, km))
    return placed


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Zoning:
    """How an import zones its nodes; ``None`` everywhere keeps the extract's own tags.

    Attributes
    ----------
    zones, zone_field
        Banner/district polygons (GeoJSON/GeoPackage) and the field naming them.
    central
        Central-urban-area polygons.
    places
        A CSV of named points (:func:`read_places`), or ``"ordos"`` for the embedded places.
    ordos_rules
        Zones and the central area by the embedded network's rules (nearest embedded node;
        :data:`ORDOS_CENTRES`) where no polygons are given.
    """

    zones: str | None = None
    zone_field: str = "name"
    central: str | None = None
    places: str | None = None
    ordos_rules: bool = False


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_network` wrote: the path, the network it reloads to, the placed
    points, and how the zones were decided."""

    path: Path
    network: RoadNetwork
    placed: list[PlacedPoint]
    zones_from: str
    central_from: str


def import_network(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    clip: ClipArea | None = None,
    highways: str | None = "drive",
    zoning: Zoning | None = None,
) -> ImportResult:
    """Cut, clean, zone and write a network (see the module docstring).

    Parameters
    ----------
    source
        An OSM extract: ``.osm.pbf``, ``.osm``, ``.osm.bz2`` or ``.osm.xml``.
    out
        The ``.graphml`` file to write (replaced atomically).
    clip
        The region (:func:`parse_clip`), or ``None`` for the whole extract.
    highways
        ``"drive"``, ``"main"`` (:data:`sim.netload.HIGHWAY_SETS`) or ``None`` (every drivable
        class, service roads included).
    zoning
        Zones, central area and places (:class:`Zoning`).

    Returns
    -------
    ImportResult
        The file written and the network it holds (its :attr:`~RoadNetwork.graph` is not
        to be read: the file was written from it; load the file instead).

    Raises
    ------
    ValidationError
        For a bad ``out`` name or ``highways``.
    NetworkError
        For an unreadable source or zoning file, or no road inside the clip.
    OutputError
        When the file cannot be written (nothing is left behind).
    """
    out = Path(out)
    if out.suffix.lower() != ".graphml":
        raise ValidationError(f"--out {str(out)!r}: the file name must end .graphml")
    if highways is not None and highways not in HIGHWAY_SETS:
        raise ValidationError(
            f"--highways {highways!r}: expected one of {', '.join(HIGHWAY_SETS)} or all"
        )
    name = Path(source).name.lower()
    if name.endswith(".graphml") or str(source) == "ordos" or str(source).startswith("place:"):
        raise ValidationError(
            f"{str(source)!r}: import reads an OSM extract (.osm.pbf, .osm, .osm.bz2, .osm.xml)"
        )
    zoning = zoning or Zoning()
    data = read_extract(
        source,
        clip=None if clip is None else clip.keep,
        highways=None if highways is None else HIGHWAY_SETS[highways],
    )
    network = RoadNetwork(data)  # routing arrays only: its graph is written as it is
    attrs, placed, zones_from, central_from = _zoning(network, zoning)
    _write_atomically(data, out, attrs, str(source))
    return ImportResult(out, network, placed, zones_from, central_from)


def _zoning(
    network: RoadNetwork, zoning: Zoning
) -> tuple[dict[int, dict[str, Any]], list[PlacedPoint], str, str]:
    lat, lon = network.lat, network.lon
    zone: np.ndarray | None = None
    central: np.ndarray | None = None
    zones_from = central_from = "the extract's own fleetsim tags (none: zone unknown)"
    ordos = load_network("ordos") if zoning.ordos_rules else None
    if zoning.zones is not None:
        zone = polygon_zones(lat, lon, zoning.zones, zoning.zone_field)
        zones_from = f"polygons of {zoning.zones} (field {zoning.zone_field!r})"
    elif ordos is not None:
        from scipy.spatial import cKDTree

        _, nearest = cKDTree(unit_vectors(ordos.lat, ordos.lon)).query(unit_vectors(lat, lon))
        zone = np.asarray(ordos.zone)[nearest]
        zones_from = "the nearest node of the embedded Ordos network (nearest-seat rule)"
    if zoning.central is not None:
        central = polygon_mask(lat, lon, zoning.central)
        central_from = f"polygons of {zoning.central}"
    elif ordos is not None:
        central = np.zeros(network.n_nodes, dtype=bool)
        for place, radius in ORDOS_CENTRES:
            c = ordos.places.locate(place)
            central |= haversine_m(ordos.lat[c], ordos.lon[c], lat, lon) <= radius * 1000.0
        if zone is not None:
            central &= zone != _OUTSIDE
        central_from = "the embedded Ordos rule: within " + ", ".join(
            f"{radius:g} km of {place}" for place, radius in ORDOS_CENTRES
        )
    attrs: dict[int, dict[str, Any]] = {}
    if zone is not None or central is not None:
        for i in range(network.n_nodes):
            row = attrs.setdefault(i, {})
            if zone is not None:
                row["zone"] = str(zone[i])
            if central is not None:
                row["central"] = bool(central[i])
    points: list[PlacePoint] = []
    if zoning.places == "ordos":
        points = embedded_places()
    elif zoning.places is not None:
        points = read_places(zoning.places)
    placed = place_points(network, points)
    for p in placed:
        if p.node is None:
            continue
        row = attrs.setdefault(p.node, {})
        row["name"] = p.point.name
        if p.point.place:
            row["place"] = p.point.place
        for key, value in p.point.attrs.items():
            if key == "zone" and zoning.zones is not None:
                continue  # the polygons decide the zone
            if key == "central" and zoning.central is not None:
                continue
            row[key] = value
    return attrs, placed, zones_from, central_from


def _write_atomically(
    data: RoadData, out: Path, attrs: Mapping[int, Mapping[str, Any]], source: str
) -> None:
    """Set the zoning attributes on the cleaned graph and write it through a temporary file."""
    for i, values in attrs.items():
        data.graph.nodes[int(data.node_ids[i])].update(values)
    for _, _, edge in data.graph.edges(data=True):
        for key in _NOT_WRITTEN:
            edge.pop(key, None)
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"{out}: cannot write: the folder {folder} does not exist")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.tmp-", suffix=".graphml", dir=folder)
        os.close(fd)
        save_graphml(data.graph, tmp, source=source)
        os.replace(tmp, out)
        tmp = None
    except OSError as exc:
        raise disk_error(exc, str(out)) from exc
    except NetworkError as exc:
        raise OutputError(f"{out}: cannot write: {exc}") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
