"""Build the embedded Ordos road network, ``sim/data/ordos.osm``, from ``data/ordos/``.

The output is a small OSM XML 0.6 file, so the default network goes through exactly the same
OSMnx loading path as a user's real extract. It is a coarse model: every road segment is a
straight (great-circle) line between two waypoints, with intermediate nodes at most a few km
apart by road length, and a ``fleetsim:circuity`` tag (road km / straight km) that the loader
multiplies into edge lengths. See ``data/ordos/README.md`` for sources and assumptions.

The build is deterministic: running it twice writes byte-identical files.

Usage::

    python tools/build_ordos.py            # write sim/data/ordos.osm
    python tools/build_ordos.py --out PATH # write elsewhere
    python tools/build_ordos.py --check    # exit 1 if the committed file is out of date
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT / "data" / "ordos"
DEFAULT_OUT = REPO_ROOT / "sim" / "data" / "ordos.osm"

#: Earth radius used for great-circle lengths, the same as ``osmnx.distance``.
EARTH_RADIUS_KM = 6371.009
#: Decimal places of written coordinates (1e-7 deg is about 1 cm).
COORD_DECIMALS = 7
#: Decimal places of the written circuity.
CIRCUITY_DECIMALS = 3

PLACE_KINDS = ("seat", "town", "anchor", "toll", "site")
HIGHWAYS = ("motorway", "trunk", "primary", "secondary", "tertiary")
BASES = ("sourced", "assumed")
CONFIDENCES = ("high", "medium", "low")
PLACE_COLUMNS = (
    "id",
    "name_en",
    "name_zh",
    "aliases",
    "kind",
    "zone",
    "lat",
    "lon",
    "placement",
    "basis",
    "confidence",
    "source",
)
ROAD_KEYS = {
    "id",
    "ref",
    "name",
    "name_zh",
    "highway",
    "maxspeed",
    "maxspeed_basis",
    "basis",
    "confidence",
    "source",
    "waypoints",
    "km_posts",
    "segment_road_km",
}
_PLACEMENT = re.compile(
    r"^(?P<a>[a-z0-9_]+)>(?P<b>[a-z0-9_]+)@(?P<value>[0-9]+(?:\.[0-9]+)?)(?P<km>km)?$"
)
_REF = re.compile(r"^(G[0-9]+|UNNUMBERED-[A-Za-z-]+|ASSUMED-[A-Za-z]+-[A-Za-z]+)$")


class BuildError(ValueError):
    """The source data in ``data/ordos/`` is inconsistent; the message lists every problem."""


@dataclass(frozen=True)
class Place:
    """A named place of ``places.csv`` with resolved WGS84 coordinates.

    Attributes
    ----------
    id : str
        Stable place id, written as ``fleetsim:place``.
    name_en, name_zh : str
        English and Chinese names.
    aliases : tuple of str
        Alternative English names, written as ``alt_name``.
    kind : str
        One of ``seat``, ``town``, ``anchor``, ``toll`` or ``site`` (a zone site that is not a
        road node).
    zone : str or None
        Zone from the data, or None to use the nearest-site rule.
    lat, lon : float
        WGS84 coordinates in degrees, given or resolved from ``placement``.
    basis : str
        ``sourced`` if the coordinates come from a source, ``assumed`` if placed by a rule.
    confidence : str
        ``high``, ``medium`` or ``low``.
    source : str
        Where the facts come from, with the assumption spelled out for assumed rows.
    """

    id: str
    name_en: str
    name_zh: str
    aliases: tuple[str, ...]
    kind: str
    zone: str | None
    lat: float
    lon: float
    basis: str
    confidence: str
    source: str


@dataclass
class Node:
    """An OSM node to be written."""

    id: int
    lat: float
    lon: float
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Way:
    """An OSM way to be written."""

    id: int
    nodes: list[int]
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Network:
    """The built network: nodes and ways in id order."""

    nodes: list[Node]
    ways: list[Way]


# --------------------------------------------------------------------------- geometry


def _unit_vector(lat: float, lon: float) -> tuple[float, float, float]:
    phi, lam = math.radians(lat), math.radians(lon)
    return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance by the haversine formula, as ``osmnx.distance.great_circle``.

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : float
        Coordinates of the two points in degrees.

    Returns
    -------
    float
        Distance in km on a sphere of radius :data:`EARTH_RADIUS_KM`.
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lam = math.radians(lon2 - lon1)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lam / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def interpolate(
    lat1: float, lon1: float, lat2: float, lon2: float, fraction: float
) -> tuple[float, float]:
    """Point at ``fraction`` of the great-circle arc from point 1 to point 2.

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : float
        End points in degrees.
    fraction : float
        0 gives point 1, 1 gives point 2.

    Returns
    -------
    tuple of float
        ``(lat, lon)`` in degrees. Equal fractions give equal great-circle steps.
    """
    a = _unit_vector(lat1, lon1)
    b = _unit_vector(lat2, lon2)
    dot = max(-1.0, min(1.0, sum(x * y for x, y in zip(a, b, strict=True))))
    omega = math.acos(dot)
    if omega == 0.0:
        return lat1, lon1
    wa = math.sin((1.0 - fraction) * omega) / math.sin(omega)
    wb = math.sin(fraction * omega) / math.sin(omega)
    x, y, z = (wa * p + wb * q for p, q in zip(a, b, strict=True))
    return math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x))


def _round_coord(value: float) -> float:
    return round(value, COORD_DECIMALS)


# --------------------------------------------------------------------------- reading


def _read_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise BuildError(f"{path.name}: expected a mapping at the top level")
    return data


def read_places(path: Path, zone_names: Sequence[str]) -> dict[str, Place]:
    """Read ``places.csv`` and resolve every coordinate, including assumed placements.

    A placement ``a>b@f`` puts the place at fraction ``f`` of the great-circle line from
    place ``a`` to place ``b``; ``a>b@Xkm`` puts it ``X`` km from ``a`` along that line.

    Parameters
    ----------
    path : Path
        The CSV file.
    zone_names : sequence of str
        Valid zone values (banner names and the outside marker).

    Returns
    -------
    dict
        Places by id, in file order.

    Raises
    ------
    BuildError
        Listing every invalid row.
    """
    problems: list[str] = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != PLACE_COLUMNS:
            raise BuildError(f"{path.name}: columns must be {', '.join(PLACE_COLUMNS)}")
        rows = list(reader)

    raw: dict[str, dict[str, str]] = {}
    for line, row in enumerate(rows, start=2):
        pid = row["id"]
        where = f"{path.name} line {line} ({pid!r})"
        if not re.fullmatch(r"[a-z0-9_]+", pid):
            problems.append(f"{where}: id must be lower-case letters, digits and '_'")
        if pid in raw:
            problems.append(f"{where}: duplicate id")
        if row["kind"] not in PLACE_KINDS:
            problems.append(f"{where}: kind {row['kind']!r} not in {PLACE_KINDS}")
        if row["zone"] and row["zone"] not in zone_names:
            problems.append(f"{where}: zone {row['zone']!r} not in {tuple(zone_names)}")
        if row["basis"] not in BASES:
            problems.append(f"{where}: basis {row['basis']!r} not in {BASES}")
        if row["confidence"] not in CONFIDENCES:
            problems.append(f"{where}: confidence {row['confidence']!r} not in {CONFIDENCES}")
        if not row["source"].strip():
            problems.append(f"{where}: source is empty")
        has_coords = bool(row["lat"] and row["lon"])
        if has_coords == bool(row["placement"]):
            problems.append(f"{where}: give either lat/lon or a placement, not both or neither")
        if row["placement"] and row["basis"] != "assumed":
            problems.append(f"{where}: a placed row must have basis 'assumed'")
        if row["basis"] == "assumed" and "ASSUMPTION:" not in row["source"]:
            problems.append(f"{where}: an assumed row must say 'ASSUMPTION: <reasoning>'")
        raw[pid] = row
    if problems:
        raise BuildError("\n".join(problems))

    coords: dict[str, tuple[float, float]] = {}

    def resolve(pid: str, stack: tuple[str, ...]) -> tuple[float, float]:
        if pid in coords:
            return coords[pid]
        if pid not in raw:
            raise BuildError(f"{path.name}: placement refers to unknown place {pid!r}")
        if pid in stack:
            raise BuildError(f"{path.name}: placement cycle {' -> '.join((*stack, pid))}")
        row = raw[pid]
        if row["lat"]:
            lat, lon = float(row["lat"]), float(row["lon"])
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise BuildError(f"{path.name}: {pid!r} has coordinates out of range")
        else:
            match = _PLACEMENT.match(row["placement"])
            if match is None:
                raise BuildError(
                    f"{path.name}: {pid!r} placement {row['placement']!r} is not "
                    "'<from>><to>@<fraction>' or '<from>><to>@<km>km'"
                )
            lat_a, lon_a = resolve(match["a"], (*stack, pid))
            lat_b, lon_b = resolve(match["b"], (*stack, pid))
            value = float(match["value"])
            if match["km"]:
                value /= great_circle_km(lat_a, lon_a, lat_b, lon_b)
            if not 0.0 < value < 1.0:
                raise BuildError(f"{path.name}: {pid!r} placement is not strictly between ends")
            lat, lon = interpolate(lat_a, lon_a, lat_b, lon_b, value)
        coords[pid] = (_round_coord(lat), _round_coord(lon))
        return coords[pid]

    places: dict[str, Place] = {}
    for pid, row in raw.items():
        lat, lon = resolve(pid, ())
        places[pid] = Place(
            id=pid,
            name_en=row["name_en"],
            name_zh=row["name_zh"],
            aliases=tuple(a.strip() for a in row["aliases"].split(";") if a.strip()),
            kind=row["kind"],
            zone=row["zone"] or None,
            lat=lat,
            lon=lon,
            basis=row["basis"],
            confidence=row["confidence"],
            source=" ".join(row["source"].split()),
        )
    return places


def _validate_roads(
    roads: list[dict[str, Any]], places: dict[str, Place], tolls: list[dict[str, Any]]
) -> None:
    problems: list[str] = []
    seen: set[str] = set()
    for i, road in enumerate(roads):
        rid = road.get("id", f"#{i}")
        where = f"roads.yaml road {rid!r}"
        unknown = set(road) - ROAD_KEYS
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
        missing = ROAD_KEYS - {"km_posts", "segment_road_km", "name_zh"} - set(road)
        if missing:
            problems.append(f"{where}: missing keys {sorted(missing)}")
            continue
        if rid in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(rid)
        if not _REF.match(str(road["ref"])):
            problems.append(f"{where}: ref {road['ref']!r} is not G<n>, UNNUMBERED-… or ASSUMED-…")
        if str(road["ref"]).startswith("ASSUMED-") != (road["basis"] == "assumed"):
            problems.append(f"{where}: ASSUMED- refs and basis 'assumed' must go together")
        if road["highway"] not in HIGHWAYS:
            problems.append(f"{where}: highway {road['highway']!r} not in {HIGHWAYS}")
        if not isinstance(road["maxspeed"], int) or not 5 <= road["maxspeed"] <= 130:
            problems.append(f"{where}: maxspeed must be an integer km/h in 5..130")
        for key in ("maxspeed_basis", "basis"):
            if road[key] not in BASES:
                problems.append(f"{where}: {key} {road[key]!r} not in {BASES}")
        if road["confidence"] not in CONFIDENCES:
            problems.append(f"{where}: confidence {road['confidence']!r} not in {CONFIDENCES}")
        if road["basis"] == "assumed" and "ASSUMPTION:" not in road["source"]:
            problems.append(f"{where}: an assumed road must say 'ASSUMPTION: <reasoning>'")
        waypoints = road["waypoints"]
        if not isinstance(waypoints, list) or len(waypoints) < 2:
            problems.append(f"{where}: needs at least two waypoints")
            continue
        for wp in waypoints:
            if wp not in places:
                problems.append(f"{where}: unknown waypoint {wp!r}")
            elif places[wp].kind == "site":
                problems.append(f"{where}: waypoint {wp!r} is a zone site, not a road node")
        if len(set(waypoints)) != len(waypoints):
            problems.append(f"{where}: a waypoint appears twice")
        for wp in road.get("km_posts", {}) or {}:
            if wp not in waypoints:
                problems.append(f"{where}: km post for {wp!r}, which is not a waypoint")
        pairs = set(pairwise(waypoints))
        for seg in road.get("segment_road_km", []) or []:
            if (seg.get("from"), seg.get("to")) not in pairs:
                problems.append(f"{where}: segment_road_km {seg} is not a consecutive pair")
    for toll in tolls:
        if toll.get("place") not in places or places[toll["place"]].kind != "toll":
            problems.append(f"roads.yaml tolls: {toll.get('place')!r} is not a toll place")
    if problems:
        raise BuildError("\n".join(problems))


# --------------------------------------------------------------------------- building


class _ZoneRule:
    """Zone and central-urban assignment from ``zones.yaml`` (see its comments)."""

    def __init__(self, spec: dict[str, Any], places: dict[str, Place]) -> None:
        problems: list[str] = []
        self.outside: str = spec["zones"]["outside"]
        self.sites: list[tuple[float, float, str]] = []
        for pid in spec["zones"]["sites"]:
            place = places.get(pid)
            if place is None or place.zone is None:
                problems.append(f"zones.yaml: site {pid!r} is not a place with a zone")
                continue
            self.sites.append((place.lat, place.lon, place.zone))
        self.centres: list[tuple[float, float, float]] = []
        for centre in spec["central"]["centres"]:
            place = places.get(centre["place"])
            if place is None:
                problems.append(f"zones.yaml: centre {centre['place']!r} is not a place")
                continue
            self.centres.append((place.lat, place.lon, float(centre["radius_km"])))
        if problems:
            raise BuildError("\n".join(problems))

    def zone(self, lat: float, lon: float) -> str:
        """Zone of the nearest site; ties go to the first site in list order."""
        best = min(
            range(len(self.sites)),
            key=lambda i: (great_circle_km(lat, lon, *self.sites[i][:2]), i),
        )
        return self.sites[best][2]

    def central(self, lat: float, lon: float, zone: str) -> bool:
        """Whether the point lies within the radius of any central-urban centre."""
        if zone == self.outside:
            return False
        return any(great_circle_km(lat, lon, c_lat, c_lon) <= r for c_lat, c_lon, r in self.centres)


def _fmt_number(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return text or "0"


def _segment_circuity(
    road: dict[str, Any], a: str, b: str, straight_km: float, default: float
) -> tuple[float, str, str]:
    """Circuity of one segment, its basis and a short note."""
    posts = road.get("km_posts") or {}
    road_km: float | None = None
    note = ""
    if a in posts and b in posts:
        road_km = abs(float(posts[b]) - float(posts[a]))
        note = f"km posts {posts[a]} and {posts[b]}"
    for seg in road.get("segment_road_km") or []:
        if (seg["from"], seg["to"]) == (a, b):
            road_km = float(seg["km"])
            note = f"road length {seg['km']} km"
    if road_km is None:
        return default, "assumed", "default circuity"
    circuity = round(road_km / straight_km, CIRCUITY_DECIMALS)
    if circuity < 1.0:
        raise BuildError(
            f"roads.yaml road {road['id']!r} {a}>{b}: sourced road length {road_km} km is "
            f"shorter than the straight line ({straight_km:.1f} km)"
        )
    return circuity, "sourced", f"{note} / straight {straight_km:.1f} km"


def build_network(data_dir: Path = DEFAULT_DATA_DIR) -> Network:
    """Build the network from the files in ``data_dir``.

    Parameters
    ----------
    data_dir : Path
        Directory holding ``places.csv``, ``roads.yaml`` and ``zones.yaml``.

    Returns
    -------
    Network
        Nodes (named places first, in ``places.csv`` order, then road nodes in road order)
        and ways (one per segment, in road order), with sequential ids from 1.

    Raises
    ------
    BuildError
        If the data is inconsistent.
    """
    zones_spec = _read_yaml(data_dir / "zones.yaml")
    zone_names = [*zones_spec["zones"]["names"], zones_spec["zones"]["outside"]]
    places = read_places(data_dir / "places.csv", zone_names)
    roads_spec = _read_yaml(data_dir / "roads.yaml")
    roads: list[dict[str, Any]] = roads_spec["roads"]
    tolls: list[dict[str, Any]] = roads_spec.get("tolls", [])
    _validate_roads(roads, places, tolls)
    defaults = roads_spec["defaults"]
    default_circuity = float(defaults["circuity"])
    max_spacing = float(defaults["max_node_spacing_road_km"])
    rule = _ZoneRule(zones_spec, places)
    toll_by_place = {t["place"]: t for t in tolls}

    def area_tags(lat: float, lon: float, zone: str | None) -> dict[str, str]:
        zone = zone or rule.zone(lat, lon)
        return {
            "fleetsim:zone": zone,
            "fleetsim:central": "yes" if rule.central(lat, lon, zone) else "no",
        }

    used = {wp for road in roads for wp in road["waypoints"]}
    nodes: list[Node] = []
    node_of_place: dict[str, int] = {}
    for place in places.values():
        if place.id not in used:
            continue
        tags = {
            "name": place.name_en,
            "name:zh": place.name_zh,
            "fleetsim:place": place.id,
            "fleetsim:kind": place.kind,
            "fleetsim:position_basis": place.basis,
            "fleetsim:confidence": place.confidence,
            "fleetsim:source": place.source,
            **area_tags(place.lat, place.lon, place.zone),
        }
        if place.aliases:
            tags["alt_name"] = ";".join(place.aliases)
        toll = toll_by_place.get(place.id)
        if toll is not None:
            tags["barrier"] = "toll_booth"
            tags["fleetsim:toll"] = toll["toll"]
            tags["fleetsim:toll_removed"] = str(toll["removed"])
        node = Node(len(nodes) + 1, place.lat, place.lon, tags)
        nodes.append(node)
        node_of_place[place.id] = node.id
    for place in places.values():
        if place.kind == "toll" and place.id not in used:
            raise BuildError(f"places.csv: toll {place.id!r} is on no road")

    ways: list[Way] = []
    for road in roads:
        waypoints: list[str] = road["waypoints"]
        for a, b in pairwise(waypoints):
            pa, pb = places[a], places[b]
            straight = great_circle_km(pa.lat, pa.lon, pb.lat, pb.lon)
            circuity, c_basis, c_note = _segment_circuity(road, a, b, straight, default_circuity)
            pieces = max(1, math.ceil(straight * circuity / max_spacing))
            way_nodes = [node_of_place[a]]
            for k in range(1, pieces):
                lat, lon = interpolate(pa.lat, pa.lon, pb.lat, pb.lon, k / pieces)
                lat, lon = _round_coord(lat), _round_coord(lon)
                tags = {
                    "fleetsim:kind": "road",
                    "fleetsim:road": road["id"],
                    **area_tags(lat, lon, None),
                }
                nodes.append(Node(len(nodes) + 1, lat, lon, tags))
                way_nodes.append(nodes[-1].id)
            way_nodes.append(node_of_place[b])
            tags = {
                "highway": road["highway"],
                "ref": str(road["ref"]),
                "name": road["name"],
                "maxspeed": str(road["maxspeed"]),
                "oneway": "no",
                "fleetsim:road": road["id"],
                "fleetsim:segment": f"{a}>{b}",
                "fleetsim:circuity": _fmt_number(circuity, CIRCUITY_DECIMALS),
                "fleetsim:circuity_basis": c_basis,
                "fleetsim:circuity_note": c_note,
                "fleetsim:maxspeed_basis": road["maxspeed_basis"],
                "fleetsim:basis": road["basis"],
                "fleetsim:confidence": road["confidence"],
                "fleetsim:source": " ".join(str(road["source"]).split()),
            }
            if road.get("name_zh"):
                tags["name:zh"] = road["name_zh"]
            ways.append(Way(len(ways) + 1, way_nodes, tags))
    return Network(nodes, ways)


# --------------------------------------------------------------------------- writing

_HEADER = (
    "Embedded default road network of fleetsim: a COARSE model of the Ordos trunk roads.\n"
    "Generated by tools/build_ordos.py from data/ordos/ - do not edit by hand.\n"
    "Segments are straight lines between waypoints; fleetsim:circuity scales their length.\n"
    "Contains GeoNames data (CC BY 4.0, https://www.geonames.org/). Sources and modelling\n"
    "assumptions: data/ordos/README.md. Load a real OSM extract for real road geometry."
)


def _attr(value: str) -> str:
    if any(ord(ch) < 0x20 for ch in value):
        raise BuildError(f"control character in tag value {value!r}")
    return '"' + escape(value, {'"': "&quot;"}) + '"'


def _tag_lines(tags: dict[str, str], indent: str) -> list[str]:
    return [f"{indent}<tag k={_attr(k)} v={_attr(tags[k])}/>" for k in sorted(tags)]


def render_osm(network: Network) -> bytes:
    """Serialise the network as OSM XML 0.6.

    Parameters
    ----------
    network : Network
        The output of :func:`build_network`.

    Returns
    -------
    bytes
        UTF-8 XML with a ``<bounds>`` element, nodes and then ways; tags sorted by key.
    """
    lats = [n.lat for n in network.nodes]
    lons = [n.lon for n in network.nodes]

    def coord(value: float) -> str:
        return f"{value:.{COORD_DECIMALS}f}"

    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<!--\n{_HEADER}\n-->",
        '<osm version="0.6" generator="fleetsim tools/build_ordos.py">',
        f'  <bounds minlat="{coord(min(lats))}" minlon="{coord(min(lons))}" '
        f'maxlat="{coord(max(lats))}" maxlon="{coord(max(lons))}"/>',
    ]
    for node in network.nodes:
        lines.append(
            f'  <node id="{node.id}" version="1" lat="{coord(node.lat)}" lon="{coord(node.lon)}">'
        )
        lines.extend(_tag_lines(node.tags, "    "))
        lines.append("  </node>")
    for way in network.ways:
        lines.append(f'  <way id="{way.id}" version="1">')
        lines.extend(f'    <nd ref="{ref}"/>' for ref in way.nodes)
        lines.extend(_tag_lines(way.tags, "    "))
        lines.append("  </way>")
    lines.append("</osm>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def build_bytes(data_dir: Path = DEFAULT_DATA_DIR) -> bytes:
    """Build and serialise in one step; see :func:`build_network` and :func:`render_osm`."""
    return render_osm(build_network(data_dir))


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; defaults to ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success; 1 if ``--check`` finds the file out of date; 2 on bad data.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output .osm path")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR, help="source data dir")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if --out differs from a fresh build"
    )
    args = parser.parse_args(argv)
    try:
        network = build_network(args.data)
    except BuildError as exc:
        print(f"build_ordos: invalid data:\n{exc}", file=sys.stderr)
        return 2
    content = render_osm(network)
    if args.check:
        current = args.out.read_bytes() if args.out.exists() else None
        if current != content:
            print(
                f"build_ordos: {args.out} is out of date; run: python tools/build_ordos.py",
                file=sys.stderr,
            )
            return 1
        print(f"build_ordos: {args.out} is up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(content)
    print(f"build_ordos: wrote {args.out} ({len(network.nodes)} nodes, {len(network.ways)} ways)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
