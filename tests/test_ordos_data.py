"""Tests of the embedded Ordos road network (``sim/data/ordos.osm``) and its build script.

The file is parsed with :mod:`xml.etree` only; nothing here depends on ``sim.network``.
Distances are great-circle lengths times the way's ``fleetsim:circuity``; taxi travel time
uses the way's ``maxspeed`` capped at 120 km/h (the statutory expressway maximum for cars).
"""

from __future__ import annotations

import csv
import importlib.util
import math
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from types import ModuleType

import networkx as nx
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
OSM_PATH = REPO / "sim" / "data" / "ordos.osm"
DATA_DIR = REPO / "data" / "ordos"
EARTH_RADIUS_KM = 6371.009  # as osmnx.distance
TAXI_CAP_KMH = 120.0
MAX_SPACING_KM = 5.0

ZONES = {
    "Dongsheng",
    "Kangbashi",
    "Dalad",
    "Jungar",
    "Otog Front",
    "Otog",
    "Hanggin",
    "Uxin",
    "Ejin Horo",
}
#: Seat place id -> zone (banner or district) it must carry.
SEATS = {
    "dongsheng_tianjiao": "Dongsheng",
    "kangbashi": "Kangbashi",
    "shulinzhao": "Dalad",
    "xuejiawan": "Jungar",
    "aoleqi": "Otog Front",
    "ulan": "Otog",
    "xini": "Hanggin",
    "galutu": "Uxin",
    "altan_xire": "Ejin Horo",
}
ANCHORS = (
    "baotou",
    "hohhot",
    "qingshuihe",
    "yulin",
    "wuhai_hainan_lasengmiao",
    "shizuishan_huinong",
)
TOLLS = {
    "erzihao": "erzihao_toll",
    "guannianfang": "guannianfang_toll",
    "dongsheng_west": "dongsheng_west_toll",
}
HIGHWAYS = {"motorway", "trunk", "primary", "secondary", "tertiary"}
REF_PATTERN = re.compile(r"^(G[0-9]+|UNNUMBERED-[A-Za-z-]+|ASSUMED-[A-Za-z]+-[A-Za-z]+)$")


@dataclass(frozen=True)
class OsmNode:
    """A parsed node."""

    lat: float
    lon: float
    tags: dict[str, str]


@dataclass(frozen=True)
class OsmWay:
    """A parsed way."""

    id: int
    nodes: list[int]
    tags: dict[str, str]


@dataclass(frozen=True)
class OsmData:
    """The parsed file."""

    root: ET.Element
    nodes: dict[int, OsmNode]
    ways: list[OsmWay]
    places: dict[str, int]


def _tags(element: ET.Element) -> dict[str, str]:
    return {t.attrib["k"]: t.attrib["v"] for t in element.findall("tag")}


def great_circle_km(a: OsmNode, b: OsmNode) -> float:
    """Haversine distance between two nodes in km."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    d_lam = math.radians(b.lon - a.lon)
    h = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(d_lam / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@pytest.fixture(scope="module")
def build_ordos() -> ModuleType:
    """The build script, imported from ``tools/`` (not an installed module)."""
    spec = importlib.util.spec_from_file_location("build_ordos", REPO / "tools" / "build_ordos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def osm() -> OsmData:
    """The committed OSM file, parsed."""
    root = ET.parse(OSM_PATH).getroot()
    nodes = {
        int(n.attrib["id"]): OsmNode(float(n.attrib["lat"]), float(n.attrib["lon"]), _tags(n))
        for n in root.findall("node")
    }
    ways = [
        OsmWay(int(w.attrib["id"]), [int(nd.attrib["ref"]) for nd in w.findall("nd")], _tags(w))
        for w in root.findall("way")
    ]
    places = {n.tags["fleetsim:place"]: i for i, n in nodes.items() if "fleetsim:place" in n.tags}
    return OsmData(root, nodes, ways, places)


@pytest.fixture(scope="module")
def graph(osm: OsmData) -> nx.MultiGraph:
    """Undirected graph with road length (km) and taxi time (h) on every edge."""
    g = nx.MultiGraph()
    g.add_nodes_from(osm.nodes)
    for way in osm.ways:
        circuity = float(way.tags["fleetsim:circuity"])
        speed = min(float(way.tags["maxspeed"]), TAXI_CAP_KMH)
        for u, v in pairwise(way.nodes):
            km = great_circle_km(osm.nodes[u], osm.nodes[v]) * circuity
            g.add_edge(u, v, km=km, hours=km / speed, way=way.id)
    return g


# ------------------------------------------------------------------ build script


def test_committed_file_equals_fresh_build(build_ordos: ModuleType) -> None:
    assert OSM_PATH.read_bytes() == build_ordos.build_bytes(DATA_DIR), (
        "sim/data/ordos.osm is out of date: run python tools/build_ordos.py"
    )


def test_build_is_deterministic(build_ordos: ModuleType) -> None:
    assert build_ordos.build_bytes(DATA_DIR) == build_ordos.build_bytes(DATA_DIR)


def test_check_flag(build_ordos: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "ordos.osm"
    assert build_ordos.main(["--out", str(out), "--check"]) == 1  # missing
    assert build_ordos.main(["--out", str(out)]) == 0
    assert build_ordos.main(["--out", str(out), "--check"]) == 0
    out.write_bytes(out.read_bytes().replace(b'maxspeed" v="120"', b'maxspeed" v="110"', 1))
    assert build_ordos.main(["--out", str(out), "--check"]) == 1


def test_bad_data_is_reported(build_ordos: ModuleType, tmp_path: Path) -> None:
    for name in ("places.csv", "roads.yaml", "zones.yaml"):
        (tmp_path / name).write_bytes((DATA_DIR / name).read_bytes())
    roads = tmp_path / "roads.yaml"
    roads.write_text(roads.read_text(encoding="utf-8").replace("- galutu\n", "- nowhere\n", 1))
    with pytest.raises(build_ordos.BuildError, match="unknown waypoint 'nowhere'"):
        build_ordos.build_network(tmp_path)


# ------------------------------------------------------------------ file and source data


def test_file_is_small_osm_xml(osm: OsmData) -> None:
    assert OSM_PATH.stat().st_size < 1_000_000
    assert osm.root.tag == "osm" and osm.root.attrib["version"] == "0.6"
    bounds = osm.root.find("bounds")
    assert bounds is not None
    lats = [n.lat for n in osm.nodes.values()]
    lons = [n.lon for n in osm.nodes.values()]
    assert float(bounds.attrib["minlat"]) == min(lats)
    assert float(bounds.attrib["maxlat"]) == max(lats)
    assert float(bounds.attrib["minlon"]) == min(lons)
    assert float(bounds.attrib["maxlon"]) == max(lons)


def test_ids_are_positive_and_sequential(osm: OsmData) -> None:
    assert sorted(osm.nodes) == list(range(1, len(osm.nodes) + 1))
    assert [w.id for w in osm.ways] == list(range(1, len(osm.ways) + 1))


def test_source_rows_state_their_basis() -> None:
    with (DATA_DIR / "places.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        assert row["source"].strip(), row["id"]
        if row["basis"] == "assumed":
            assert "ASSUMPTION:" in row["source"], row["id"]
    roads = yaml.safe_load((DATA_DIR / "roads.yaml").read_text(encoding="utf-8"))["roads"]
    for road in roads:
        assert str(road["source"]).strip(), road["id"]
        if road["basis"] == "assumed":
            assert "ASSUMPTION:" in road["source"], road["id"]


# ------------------------------------------------------------------ nodes


@pytest.mark.parametrize("place", [*SEATS, "dongsheng", "shagedu", *ANCHORS])
def test_place_is_a_node(osm: OsmData, place: str) -> None:
    assert place in osm.places


@pytest.mark.parametrize(("place", "zone"), sorted(SEATS.items()))
def test_seat_node_tags(osm: OsmData, place: str, zone: str) -> None:
    tags = osm.nodes[osm.places[place]].tags
    assert tags["fleetsim:kind"] == "seat"
    assert tags["fleetsim:zone"] == zone


def test_every_node_has_zone_central_and_kind(osm: OsmData) -> None:
    for node_id, node in osm.nodes.items():
        assert node.tags.get("fleetsim:zone") in ZONES | {"outside"}, node_id
        assert node.tags.get("fleetsim:central") in {"yes", "no"}, node_id
        assert node.tags.get("fleetsim:kind") in {"seat", "town", "anchor", "toll", "road"}
        if node.tags["fleetsim:zone"] == "outside":
            assert node.tags["fleetsim:central"] == "no", node_id
    assert {n.tags["fleetsim:zone"] for n in osm.nodes.values()} == ZONES | {"outside"}


def test_named_nodes(osm: OsmData) -> None:
    named = [n for n in osm.nodes.values() if "name" in n.tags]
    assert len(named) == len(osm.places)
    names = [n.tags["name"] for n in named]
    assert len(names) == len(set(names)), "English names must be unique"
    for node in named:
        assert node.tags["name:zh"] and node.tags["fleetsim:place"]
        assert node.tags["fleetsim:kind"] != "road"
    assert "Otog Front" in osm.nodes[osm.places["aoleqi"]].tags["alt_name"].split(";")
    for node in osm.nodes.values():
        if node.tags["fleetsim:kind"] == "road":
            assert "name" not in node.tags and "fleetsim:place" not in node.tags


@pytest.mark.parametrize("anchor", ANCHORS)
def test_anchors_are_outside(osm: OsmData, anchor: str) -> None:
    tags = osm.nodes[osm.places[anchor]].tags
    assert (tags["fleetsim:kind"], tags["fleetsim:zone"]) == ("anchor", "outside")


def test_central_urban_area(osm: OsmData) -> None:
    central = {p for p, i in osm.places.items() if osm.nodes[i].tags["fleetsim:central"] == "yes"}
    assert {"dongsheng", "dongsheng_tianjiao", "kangbashi", "altan_xire"} <= central
    assert not central & {"shulinzhao", "xuejiawan", "aoleqi", "ulan", "xini", "galutu"}
    central_zones = {
        n.tags["fleetsim:zone"] for n in osm.nodes.values() if n.tags["fleetsim:central"] == "yes"
    }
    assert central_zones <= {"Dongsheng", "Kangbashi", "Ejin Horo"}


def test_toll_stations_on_g65(osm: OsmData) -> None:
    g65_nodes = [n for w in osm.ways if w.tags["ref"] == "G65" for n in w.nodes]
    for toll, place in TOLLS.items():
        node_id = osm.places[place]
        tags = osm.nodes[node_id].tags
        assert tags["fleetsim:toll"] == toll
        assert tags["fleetsim:kind"] == "toll"
        assert tags["barrier"] == "toll_booth"
        assert tags["fleetsim:toll_removed"] == "2022-06-30"
        assert tags["fleetsim:position_basis"] == "assumed"
        assert node_id in g65_nodes
    order = [osm.places[p] for p in ("shulinzhao", *TOLLS.values(), "kangbashi")]
    positions = [g65_nodes.index(n) for n in order]
    assert positions == sorted(positions)


# ------------------------------------------------------------------ ways


def test_every_way_is_tagged(osm: OsmData) -> None:
    for way in osm.ways:
        t = way.tags
        assert t["highway"] in HIGHWAYS, way.id
        assert REF_PATTERN.match(t["ref"]), t["ref"]
        assert t["name"]
        assert 5 <= int(t["maxspeed"]) <= 130
        assert t["oneway"] == "no"
        assert float(t["fleetsim:circuity"]) >= 1.0
        assert t["fleetsim:maxspeed_basis"] in {"sourced", "assumed"}
        assert t["fleetsim:basis"] in {"sourced", "assumed"}
        assert t["fleetsim:confidence"] in {"high", "medium", "low"}
        assert t["fleetsim:source"]
        assert t["ref"].startswith("ASSUMED-") == (t["fleetsim:basis"] == "assumed")
        assert len(way.nodes) >= 2 and all(n in osm.nodes for n in way.nodes)
        for end in (way.nodes[0], way.nodes[-1]):
            assert "fleetsim:place" in osm.nodes[end].tags, "ways run between named places"


def test_sourced_roads(osm: OsmData) -> None:
    classes = {(w.tags["ref"], w.tags["highway"]) for w in osm.ways}
    for ref, highway in [
        ("G65", "motorway"),
        ("G18", "motorway"),
        ("UNNUMBERED-Hohhot-Jungar", "motorway"),
        ("G109", "trunk"),
        ("G210", "trunk"),
        ("UNNUMBERED-Dongkang", "primary"),
    ]:
        assert (ref, highway) in classes
    longkou = [w for w in osm.ways if w.tags["fleetsim:segment"] == "dafanpu>longkou"]
    assert [(w.tags["maxspeed"], w.tags["fleetsim:maxspeed_basis"]) for w in longkou] == [
        ("80", "sourced")
    ]


def test_circuity_from_km_posts(osm: OsmData) -> None:
    # G210 km posts: Shulinzhao 44, Dongsheng 136 (zh.wikipedia 210国道 里程表).
    (way,) = [
        w
        for w in osm.ways
        if w.tags["fleetsim:segment"] == "shulinzhao>dongsheng" and w.tags["ref"] == "G210"
    ]
    straight = great_circle_km(
        osm.nodes[osm.places["shulinzhao"]], osm.nodes[osm.places["dongsheng"]]
    )
    assert float(way.tags["fleetsim:circuity"]) == pytest.approx(92 / straight, abs=1e-3)
    assert way.tags["fleetsim:circuity_basis"] == "sourced"


def test_nodes_at_most_5_km_apart_by_road(osm: OsmData) -> None:
    for way in osm.ways:
        circuity = float(way.tags["fleetsim:circuity"])
        for u, v in pairwise(way.nodes):
            road_km = great_circle_km(osm.nodes[u], osm.nodes[v]) * circuity
            assert 0 < road_km <= MAX_SPACING_KM, (way.id, u, v, road_km)


# ------------------------------------------------------------------ graph and calibration


def test_graph_is_connected_and_large_enough(graph: nx.MultiGraph) -> None:
    assert nx.is_connected(graph)
    assert graph.number_of_nodes() >= 300


def test_dongsheng_to_aoleqi(osm: OsmData, graph: nx.MultiGraph) -> None:
    a, b = osm.places["dongsheng"], osm.places["aoleqi"]
    km = nx.shortest_path_length(graph, a, b, weight="km")
    hours = nx.shortest_path_length(graph, a, b, weight="hours")
    assert 330 <= km <= 370
    assert 2.5 <= hours <= 4.5


def test_kangbashi_to_dongsheng(osm: OsmData, graph: nx.MultiGraph) -> None:
    hours = nx.shortest_path_length(
        graph, osm.places["kangbashi"], osm.places["dongsheng"], weight="hours"
    )
    assert 15 <= hours * 60 <= 40


def test_osmnx_reads_the_file(osm: OsmData, monkeypatch: pytest.MonkeyPatch) -> None:
    ox = pytest.importorskip("osmnx")
    node_keys = ["fleetsim:zone", "fleetsim:central", "fleetsim:kind", "fleetsim:place", "name"]
    way_keys = ["fleetsim:circuity", "fleetsim:maxspeed_basis", "maxspeed", "ref", "highway"]
    monkeypatch.setattr(ox.settings, "useful_tags_node", node_keys)
    monkeypatch.setattr(ox.settings, "useful_tags_way", way_keys)
    g = ox.graph_from_xml(OSM_PATH, simplify=False, retain_all=True)
    assert g.number_of_nodes() == len(osm.nodes)
    assert all("fleetsim:zone" in d for _, d in g.nodes(data=True))
    assert all("fleetsim:circuity" in d for _, _, d in g.edges(data=True))
    assert nx.is_strongly_connected(g)
