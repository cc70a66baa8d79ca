"""Tests of the road network: loading and cleaning (:mod:`sim.netload`), class speeds and
routing (:mod:`sim.network`), lookup and labels (:mod:`sim.places`) and export
(:mod:`sim.netexport`).

Routing is checked against networkx on the embedded default and on the three real OSM
extracts; small hand-made graphs and OSM files pin down the corner cases (parallel edges,
zero-length edges, circuity, list-valued tags).
"""

from __future__ import annotations

import math
import pickle
import re
from itertools import pairwise
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pytest

from sim.errors import FleetsimError, NetworkError, ValidationError
from sim.netexport import export, save_graphml
from sim.netload import (
    DEFAULT_SPEED_KPH,
    FALLBACK_SPEED_KPH,
    from_graph,
    load_network,
    parse_maxspeed,
    road_class,
)
from sim.network import PathTree, RoadNetwork
from sim.vehicles import DEFAULT_CLASSES, SpeedProfile

N_PAIRS = 30


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _pairs(network: RoadNetwork, seed: int = 12345) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(network.n_nodes, size=(N_PAIRS, 2))


def _chosen_edge(network: RoadNetwork, a: int, b: int, vehicle: str) -> dict:
    edges = network.graph[int(network.node_ids[a])][int(network.node_ids[b])]
    return min(edges.values(), key=lambda d: (d[f"travel_time_{vehicle}"], d["length"]))


def _parallel_graph() -> nx.MultiDiGraph:
    """Three nodes; 1->2 by a short primary road and a longer motorway (parallel edges)."""
    graph = nx.MultiDiGraph(crs="epsg:4326")
    for node, (lat, lon) in {1: (39.60, 109.78), 2: (39.61, 109.79), 3: (39.62, 109.78)}.items():
        graph.add_node(node, x=lon, y=lat)
    graph.add_edge(1, 2, highway="primary", maxspeed="70", length=1000.0)
    graph.add_edge(1, 2, highway="motorway", maxspeed="120", length=1500.0)
    graph.add_edge(2, 1, highway="primary", maxspeed="70", length=1000.0)
    graph.add_edge(2, 3, highway="residential", length=500.0)
    graph.add_edge(3, 2, highway="residential", length=500.0)
    return graph


def _write_osm(path: Path, nodes: list[tuple], ways: list[tuple]) -> Path:
    """Write a tiny OSM XML file: nodes (id, lat, lon, tags), ways (id, [node ids], tags)."""

    def tags(mapping: dict[str, str]) -> str:
        return "".join(f'<tag k="{k}" v="{v}"/>' for k, v in mapping.items())

    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for node_id, lat, lon, node_tags in nodes:
        lines.append(f'<node id="{node_id}" lat="{lat}" lon="{lon}">{tags(node_tags)}</node>')
    for way_id, refs, way_tags in ways:
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        lines.append(f'<way id="{way_id}">{nds}{tags(way_tags)}</way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _tags(zone: str, **extra: str) -> dict[str, str]:
    tags = {"fleetsim:zone": zone, "fleetsim:central": "no", "fleetsim:kind": "road"}
    return tags | {key.replace("__", ":"): value for key, value in extra.items()}


@pytest.fixture()
def tiny_osm(tmp_path: Path) -> Path:
    """A four-node line A-B-C-D plus a footway and a building, with fleetsim tags."""
    alpha = _tags(
        "Kangbashi",
        name="Alpha",
        name__zh="甲",
        alt_name="First;Start",
        fleetsim__place="alpha_id",
        fleetsim__kind="seat",
        fleetsim__central="yes",
    )
    nodes = [
        (1, 39.600, 109.780, alpha),
        (2, 39.610, 109.790, _tags("Kangbashi")),
        (3, 39.620, 109.800, _tags("Dongsheng", name="Gamma", fleetsim__kind="seat")),
        (4, 39.630, 109.810, _tags("Dongsheng")),
        (5, 39.640, 109.820, {}),  # reached only by a footway
        (6, 39.600, 109.800, {}),  # building corners
        (7, 39.601, 109.801, {}),
        (8, 39.602, 109.800, {}),
    ]
    ways = [
        (10, [1, 2], {"highway": "primary", "maxspeed": "50;60", "fleetsim:circuity": "1.5"}),
        (11, [2, 3], {"highway": "secondary", "maxspeed": "30 mph", "ref": "S1"}),
        (12, [3, 4], {"highway": "unknown_class_xyz"}),
        (13, [4, 5], {"highway": "footway"}),
        (14, [6, 7, 8, 6], {"building": "yes"}),
    ]
    return _write_osm(tmp_path / "tiny.osm", nodes, ways)


# --------------------------------------------------------------------------------------------
# routing against networkx
# --------------------------------------------------------------------------------------------


def test_routing_matches_networkx(any_network: RoadNetwork) -> None:
    net = any_network
    for source, target in _pairs(net):
        s_id, t_id = int(net.node_ids[source]), int(net.node_ids[target])
        for vehicle in DEFAULT_CLASSES:
            tree = net.tree_to(int(target), vehicle)
            expected = nx.shortest_path_length(
                net.graph, s_id, t_id, weight=f"travel_time_{vehicle}"
            )
            assert tree.time_s[source] == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_paths_follow_edges_and_lengths_are_exact(any_network: RoadNetwork) -> None:
    net = any_network
    for source, target in _pairs(net, seed=7)[:10]:
        for vehicle in DEFAULT_CLASSES:
            tree = net.tree_to(int(target), vehicle)
            path = tree.path(int(source))
            assert path[0] == source and path[-1] == target
            edges = [_chosen_edge(net, a, b, vehicle) for a, b in pairwise(path)]
            time = sum(e[f"travel_time_{vehicle}"] for e in edges)
            length = sum(e["length"] for e in edges)
            assert tree.time_s[source] == pytest.approx(time, rel=1e-9, abs=1e-9)
            assert tree.length_m[source] == pytest.approx(length, rel=1e-9, abs=1e-9)


def test_times_to_matches_tree_to(any_network: RoadNetwork) -> None:
    net = any_network
    targets = [int(t) for t in _pairs(net, seed=3)[:5, 1]]
    for vehicle in ("taxi", "hazmat"):
        times = net.times_to(targets, vehicle)
        assert times.shape == (len(targets), net.n_nodes)
        for row, target in zip(times, targets, strict=True):
            np.testing.assert_allclose(row, net.tree_to(target, vehicle).time_s, rtol=1e-12)
    assert net.times_to([], "taxi").shape == (0, net.n_nodes)


def test_road_distance_matches_networkx(any_network: RoadNetwork) -> None:
    net = any_network
    source = int(_pairs(net, seed=5)[0, 0])
    expected = nx.single_source_dijkstra_path_length(
        net.graph, int(net.node_ids[source]), weight="length"
    )
    dist = net.road_distance_from(source)
    for node_id, value in expected.items():
        assert dist[net.index_of(node_id)] == pytest.approx(value, rel=1e-9, abs=1e-9)


def test_cleaned_network_is_strongly_connected(any_network: RoadNetwork) -> None:
    assert nx.is_strongly_connected(any_network.graph)
    assert np.isfinite(any_network.tree_to(0, "taxi").time_s).all()


# --------------------------------------------------------------------------------------------
# parallel and zero-length edges
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["graph", "graphml"])
def test_parallel_edges_keep_the_fastest(via: str, tmp_path: Path) -> None:
    graph = _parallel_graph()
    if via == "graph":
        net = from_graph(graph, source="parallel")
    else:
        ox.save_graphml(graph, tmp_path / "parallel.graphml")
        net = load_network(tmp_path / "parallel.graphml")
    a, b = net.index_of(1), net.index_of(2)
    # taxi: motorway 1500 m at 120 km/h = 45 s beats primary 1000 m at 70 km/h = 51.4 s
    assert net.edge_times("taxi")[a, b] == pytest.approx(45.0)
    # hazmat: primary at its 60 km/h cap = 60 s beats motorway at 80 km/h = 67.5 s
    assert net.edge_times("hazmat")[a, b] == pytest.approx(60.0)
    # coach: primary 51.4 s beats motorway at 100 km/h = 54 s; never the sum of both
    assert net.edge_times("coach")[a, b] == pytest.approx(1000 * 3.6 / 70)
    assert net.edge_times("taxi").nnz == 4  # 5 edges, one parallel pair
    # the length along the path is that of the chosen parallel edge
    assert net.tree_to(b, "taxi").length_m[a] == pytest.approx(1500.0)
    assert net.tree_to(b, "hazmat").length_m[a] == pytest.approx(1000.0)
    assert net.tree_to(net.index_of(3), "taxi").time_s[a] == pytest.approx(45.0 + 60.0)


@pytest.mark.parametrize("long_first", [False, True])
def test_of_equally_fast_parallel_edges_the_shortest_gives_the_length(long_first: bool) -> None:
    graph = _parallel_graph()
    graph.remove_edges_from([(1, 2, 0), (1, 2, 1)])
    edges = [dict(maxspeed="60", length=1000.0), dict(maxspeed="90", length=1500.0)]
    for attrs in edges[::-1] if long_first else edges:
        graph.add_edge(1, 2, highway="primary", **attrs)  # both 60 s for a taxi
    net = from_graph(graph)
    a, b = net.index_of(1), net.index_of(2)
    times = {d["length"]: d["travel_time_taxi"] for _, _, d in net.graph.edges(1, data=True)}
    assert times[1000.0] == times[1500.0] == pytest.approx(60.0)  # the tie this test is about
    assert net.edge_times("taxi")[a, b] == times[1000.0]
    assert net.tree_to(b, "taxi").length_m[a] == 1000.0


def test_every_pair_routes_by_its_fastest_parallel_edge_on_a_random_multigraph() -> None:
    """Against the definition, edge by edge: many parallel edges of random roads and speeds."""
    rng = np.random.default_rng(7)
    graph = nx.MultiDiGraph(crs="epsg:4326")
    n = 30
    for node in range(n):
        graph.add_node(node, x=109.7 + 0.01 * (node % 6), y=39.6 + 0.01 * (node // 6))
    for node in range(n):  # a ring both ways: strongly connected
        for u, v in ((node, (node + 1) % n), ((node + 1) % n, node)):
            graph.add_edge(u, v, highway="residential", length=800.0)
    roads = ["motorway", "trunk", "primary", "secondary", "residential"]
    for _ in range(300):
        u, v = (int(x) for x in rng.integers(0, n, 2))
        if u != v:
            graph.add_edge(
                u, v, highway=roads[rng.integers(5)], maxspeed=str(int(rng.choice([40, 60, 90]))),
                length=float(rng.choice([500.0, 750.0, 1000.0, 1500.0])),
            )  # fmt: skip
    net = from_graph(graph)
    for cls in net.classes:
        best: dict[tuple[int, int], float] = {}
        for u, v, d in net.graph.edges(data=True):
            key = (net.index_of(u), net.index_of(v))
            best[key] = min(best.get(key, math.inf), d[f"travel_time_{cls}"])
        times = net.edge_times(cls).tocoo()
        pairs = zip(times.row.tolist(), times.col.tolist(), strict=True)
        got = dict(zip(pairs, times.data.tolist(), strict=True))
        assert got == best, cls


def test_zero_length_edges_route_at_zero_cost() -> None:
    graph = _parallel_graph()
    graph.add_node(4, x=109.78, y=39.62)  # same place as node 3
    graph.add_edge(3, 4, highway="residential", length=0.0)
    graph.add_edge(4, 3, highway="residential", length=0.0)
    net = from_graph(graph)
    c, d = net.index_of(3), net.index_of(4)
    times = net.edge_times("taxi")
    assert times.nnz == 6 and times[c, d] == 0.0  # an explicit zero: still an edge
    tree = net.tree_to(d, "taxi")
    assert tree.time_s[c] == 0.0 and tree.length_m[c] == 0.0
    assert tree.path(c).tolist() == [c, d]


# --------------------------------------------------------------------------------------------
# cleaning and tags
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("50", 50.0),
        ("50;60", 60.0),
        ("30 mph", 30 * 1.609344),
        ("60 km/h", 60.0),
        ("80kph", 80.0),
        ("10 knots", 18.52),
        ("DE:urban", 50.0),
        ("RU:rural", 80.0),
        (["40", "70"], 70.0),
        ("['40', '70']", 70.0),
        (45, 45.0),
        ("none", None),
        ("signals", None),
        ("variable", None),
        ("walk", None),
        ("0", None),
        ("-5", None),
        ("fast", None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_parse_maxspeed(value: object, expected: float | None) -> None:
    result = parse_maxspeed(value)
    assert result == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"highway": "primary"}, "primary"),
        ({"highway": ["footway", "residential"]}, "residential"),
        ({"highway": ["primary", "motorway"]}, "motorway"),
        ({"highway": ["motorway", "primary"]}, "motorway"),
        ({"highway": "['tertiary', 'secondary']"}, "secondary"),
        ({"highway": "weird"}, "weird"),
        ({"highway": "footway"}, None),
        ({"highway": "track"}, None),
        ({}, None),
        ({"highway": "residential", "area": "yes"}, None),
        ({"highway": "residential", "access": "private"}, None),
        ({"highway": "service", "service": "parking_aisle"}, None),
        ({"highway": "service", "service": "alley"}, "service"),
        ({"highway": "primary", "motor_vehicle": "no"}, None),
    ],
)
def test_road_class(data: dict, expected: str | None) -> None:
    assert road_class(data) == expected


def test_default_speed_table_is_sane() -> None:
    assert all(speed > 0 for speed in DEFAULT_SPEED_KPH.values())
    for road in ("motorway", "trunk", "primary", "secondary", "tertiary"):
        assert DEFAULT_SPEED_KPH[f"{road}_link"] < DEFAULT_SPEED_KPH[road]
    assert 0 < FALLBACK_SPEED_KPH <= DEFAULT_SPEED_KPH["unclassified"]


def test_osm_file_cleaning_tags_and_speeds(tiny_osm: Path) -> None:
    net = load_network(tiny_osm)
    assert net.n_nodes == 4  # the footway node and the building are gone
    assert sorted(net.node_ids.tolist()) == [1, 2, 3, 4]
    edges = {(u, v): d for u, v, d in net.graph.edges(data=True)}
    straight = ox.distance.great_circle(39.600, 109.780, 39.610, 109.790)
    ab = edges[(1, 2)]
    assert ab["length"] == pytest.approx(1.5 * straight)  # circuity applied once
    assert ab["circuity"] == 1.5 and "fleetsim:circuity" not in ab
    assert ab["speed_kph"] == 60.0  # "50;60": the fastest value
    assert edges[(2, 3)]["speed_kph"] == pytest.approx(30 * 1.609344)
    assert edges[(2, 3)]["ref"] == "S1" and ab["ref"] is None
    assert edges[(3, 4)]["speed_kph"] == FALLBACK_SPEED_KPH  # unknown highway class
    assert net.info()["non_road_edges"] > 0
    alpha = net.graph.nodes[1]
    assert alpha["zone"] == "Kangbashi" and alpha["central"] is True
    assert alpha["kind"] == "seat" and alpha["place"] == "alpha_id" and alpha["name"] == "Alpha"
    assert net.graph.nodes[2]["name"] is None and net.graph.nodes[2]["central"] is False
    assert net.zone.tolist() == [net.graph.nodes[int(n)]["zone"] for n in net.node_ids]
    assert net.places.names == {"Alpha": net.index_of(1), "Gamma": net.index_of(3)}
    assert net.info()["seats"] == ["Alpha", "Gamma"]


def test_osmnx_settings_are_restored(tiny_osm: Path) -> None:
    before = (list(ox.settings.useful_tags_node), list(ox.settings.useful_tags_way))
    load_network(tiny_osm)
    assert (ox.settings.useful_tags_node, ox.settings.useful_tags_way) == before
    broken = tiny_osm.with_name("broken.osm.xml")
    broken.write_text("<osm><node id='1'", encoding="utf-8")
    with pytest.raises(NetworkError, match=r"broken\.osm\.xml"):
        load_network(broken)
    assert (ox.settings.useful_tags_node, ox.settings.useful_tags_way) == before


def test_real_extracts_are_cleaned(real_network: RoadNetwork) -> None:
    net = real_network
    info = net.info()
    assert info["nodes"] == net.n_nodes >= 5 and info["edges"] == net.n_edges
    assert info["non_road_edges"] > 0  # every extract holds footways, buildings or rails
    for _, _, data in net.graph.edges(data=True):
        assert isinstance(data["highway"], str) and data["speed_kph"] > 0
        assert data["length"] >= 0
        for vehicle in DEFAULT_CLASSES:
            assert math.isfinite(data[f"travel_time_{vehicle}"])
    assert set(net.zone.tolist()) == {""} and not net.central.any()
    assert info["road_km"] > 0


def test_west_oakland_reports_dropped_components(shared_osm_dir: Path) -> None:
    net = load_network(shared_osm_dir / "west-oakland.osm.bz2")
    assert net.dropped_nodes > 0 and net.info()["dropped_components"] > 0


# --------------------------------------------------------------------------------------------
# the embedded default
# --------------------------------------------------------------------------------------------


def _seats(net: RoadNetwork) -> list[int]:
    return [net.index_of(n) for n, d in net.graph.nodes(data=True) if d["kind"] == "seat"]


def test_ordos_size_zones_and_seats(ordos: RoadNetwork) -> None:
    assert ordos.n_nodes >= 300
    assert ordos.source == "ordos"
    seats = _seats(ordos)
    assert len(seats) == 9  # 2 district seats and 7 banner seats
    assert {str(ordos.zone[s]) for s in seats} == {
        "Dongsheng", "Kangbashi", "Dalad", "Jungar", "Otog Front", "Otog", "Hanggin", "Uxin",
        "Ejin Horo",
    }  # fmt: skip
    assert all(ordos.zone != "")
    assert ordos.central[ordos.places.locate("Kangbashi")]
    assert not ordos.central[ordos.places.locate("Aoleqi")]


def test_ordos_every_seat_reaches_every_seat(ordos: RoadNetwork) -> None:
    seats = _seats(ordos)
    for vehicle in DEFAULT_CLASSES:
        times = ordos.times_to(seats, vehicle)[:, seats]
        assert np.isfinite(times).all()


def test_ordos_reference_travel_times(ordos: RoadNetwork) -> None:
    dongsheng, aoleqi, kangbashi = (
        ordos.places.locate(p) for p in ("Dongsheng", "Aoleqi", "Kangbashi")
    )
    hours = ordos.tree_to(aoleqi, "taxi").time_s[dongsheng] / 3600
    assert 2.5 <= hours <= 4.5
    minutes = ordos.tree_to(dongsheng, "taxi").time_s[kangbashi] / 60
    assert 15 <= minutes <= 40


def test_ordos_hazmat_never_faster_than_taxi(ordos: RoadNetwork) -> None:
    seats = _seats(ordos)
    taxi, hazmat = ordos.times_to(seats, "taxi"), ordos.times_to(seats, "hazmat")
    assert (hazmat >= taxi).all()  # every node to every seat
    assert (hazmat[:, seats] > taxi[:, seats]).sum() > 0


# --------------------------------------------------------------------------------------------
# lookup and validation
# --------------------------------------------------------------------------------------------


def test_locate_names_aliases_and_points(ordos: RoadNetwork) -> None:
    kangbashi = ordos.places.names["Kangbashi"]
    for text in ("Kangbashi", "KANGBASHI", "  kangbashi ", "kangbashi", "康巴什区（滨河街道）",
                 "Binhe Subdistrict", "binhe-subdistrict"):  # fmt: skip
        assert ordos.places.locate(text) == kangbashi
    assert ordos.places.locate("altan_xire") == ordos.places.locate("Altan Xire")
    lat, lon = ordos.lat[kangbashi], ordos.lon[kangbashi]
    assert ordos.places.locate(f"{lat},{lon}") == kangbashi
    assert ordos.places.locate(f" {lat + 1e-5} , {lon - 1e-5} ") == kangbashi


def test_locate_unknown_name_suggests_close_matches(ordos: RoadNetwork) -> None:
    with pytest.raises(NetworkError, match="Kangbash") as info:
        ordos.places.locate("Kangbashy")
    assert "did you mean" in str(info.value)
    with pytest.raises(NetworkError, match="fleetsim network places"):
        ordos.places.locate("zzzzqqqq")


def test_locate_point_outside_bbox(ordos: RoadNetwork) -> None:
    with pytest.raises(NetworkError, match="outside") as info:
        ordos.places.locate("48.1,11.5")
    message = str(info.value)
    assert "bounding box" in message and f"{ordos.bbox[0]:.5f}" in message
    with pytest.raises(ValidationError, match="latitude"):
        ordos.places.locate("95,10")


def test_locate_on_unnamed_network(real_network: RoadNetwork) -> None:
    with pytest.raises(NetworkError, match="LAT,LON"):
        real_network.places.locate("Kangbashi")
    south, west, north, east = real_network.bbox
    node = real_network.places.locate(f"{(south + north) / 2},{(west + east) / 2}")
    assert 0 <= node < real_network.n_nodes


def test_nearest_node_of_a_node_is_itself(any_network: RoadNetwork) -> None:
    net = any_network
    for i in _pairs(net, seed=11)[:, 0]:
        j = net.places.nearest_node(net.lat[i], net.lon[i])
        assert j == i or (net.lat[j], net.lon[j]) == (net.lat[i], net.lon[i])


def test_unknown_vehicle_class_is_named(ordos: RoadNetwork) -> None:
    for call in (
        lambda: ordos.tree_to(0, "tank"),
        lambda: ordos.times_to([0], "tank"),
        lambda: ordos.edge_times("tank"),
    ):
        with pytest.raises(ValidationError, match="'tank'"):
            call()


@pytest.mark.parametrize("bad", [-1, 10**9, 1.5, True, "3", None])
def test_node_index_is_validated(ordos: RoadNetwork, bad: object) -> None:
    with pytest.raises(ValidationError, match="node index"):
        ordos.tree_to(bad, "taxi")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ordos.road_distance_from(bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ordos.tree_to(0, "taxi").path(bad)  # type: ignore[arg-type]


def test_index_of(ordos: RoadNetwork) -> None:
    for i in (0, 5, ordos.n_nodes - 1):
        assert ordos.index_of(ordos.node_ids[i]) == i
    with pytest.raises(NetworkError, match="not in the network"):
        ordos.index_of(-42)


def _labelled_graph() -> nx.MultiDiGraph:
    """A triangle of seats: one named, one with only a place id, one unnamed."""
    graph = nx.MultiDiGraph(crs="epsg:4326")
    graph.add_node(11, x=109.78, y=39.60, name="Alpha", **{"fleetsim:kind": "seat"})
    graph.add_node(12, x=109.79, y=39.61, **{"fleetsim:place": "beta_id", "fleetsim:kind": "seat"})
    graph.add_node(13, x=109.78, y=39.62, **{"fleetsim:kind": "seat", "fleetsim:zone": "Z"})
    for u, v in ((11, 12), (12, 13), (13, 11)):
        graph.add_edge(u, v, highway="primary", length=1000.0)
        graph.add_edge(v, u, highway="primary", length=1000.0)
    return graph


def test_label_is_name_else_place_id_else_node_id() -> None:
    net = from_graph(_labelled_graph())
    a, b, c = (net.index_of(n) for n in (11, 12, 13))
    assert [net.places.label(i) for i in (a, b, c)] == ["Alpha", "beta_id", "node 13"]
    assert [net.places.label(i, with_id=True) for i in (a, b, c)] == [
        "Alpha (node 11)",
        "beta_id (node 12)",
        "node 13",
    ]
    assert net.info()["seats"] == ["Alpha", "beta_id", "node 13"]
    assert net.places.locate("beta id") == b  # a place id is a name too
    with pytest.raises(NetworkError, match="unknown place 'node 13'"):
        net.places.locate("node 13")  # a label is not a name


def test_node_attributes_are_read_only(ordos: RoadNetwork) -> None:
    seat = int(ordos.seats[0])
    data = ordos.node(seat)
    assert data["kind"] == "seat" and data["zone"] == ordos.zone[seat]
    assert (data["x"], data["y"]) == (ordos.lon[seat], ordos.lat[seat])
    with pytest.raises(TypeError):
        data["kind"] = "road"  # type: ignore[index]
    with pytest.raises(ValidationError, match="node index"):
        ordos.node(ordos.n_nodes)


def test_lat_lon_text_locates_its_node(ordos: RoadNetwork) -> None:
    for i in [*ordos.seats.tolist(), 0, ordos.n_nodes - 1]:
        text = ordos.places.lat_lon(i)
        assert ordos.places.locate(text) == i
        assert ordos.places.point(text) == (ordos.lat[i], ordos.lon[i])


def test_without_no_edges_is_the_network_itself(ordos: RoadNetwork) -> None:
    assert ordos.without_edges([]) is ordos
    fewer = ordos.without_edges([0])
    assert fewer.n_edges == ordos.n_edges - 1 and fewer.places is ordos.places


def test_unreachable_path_raises() -> None:
    tree = PathTree(
        target=0,
        vehicle="taxi",
        time_s=np.array([0.0, np.inf]),
        length_m=np.array([0.0, np.inf]),
        next_hop=np.array([-1, -1]),
    )
    with pytest.raises(NetworkError, match="cannot reach"):
        tree.path(1)
    assert tree.path(0).tolist() == [0]


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("nowhere.txt", "expected 'ordos'"),
        ("Ordos", "unrecognised network source"),
        ("place:", "empty place query"),
        ("missing/file.osm.bz2", "not found: missing/file.osm.bz2"),
        ("missing.graphml", "not found"),
    ],
)
def test_load_errors(source: str, match: str) -> None:
    with pytest.raises(NetworkError, match=match):
        load_network(source)


def test_unreadable_files_raise_network_error(tmp_path: Path) -> None:
    for name, text in (("bad.osm", "<osm><way"), ("bad.graphml", "not xml"), ("bad.osm.bz2", "x")):
        (tmp_path / name).write_text(text)
        with pytest.raises(NetworkError, match=re.escape(name)):
            load_network(tmp_path / name)


def test_no_roads_is_an_error(tmp_path: Path) -> None:
    path = _write_osm(
        tmp_path / "paths.osm",
        [(1, 39.6, 109.7, {}), (2, 39.61, 109.71, {})],
        [(1, [1, 2], {"highway": "footway"})],
    )
    with pytest.raises(NetworkError, match="no drivable road"):
        load_network(path)


def test_graph_input_is_validated() -> None:
    with pytest.raises(NetworkError, match="MultiDiGraph"):
        from_graph(nx.DiGraph())  # type: ignore[arg-type]
    graph = _parallel_graph()
    graph.graph["crs"] = "epsg:32649"
    with pytest.raises(NetworkError, match="EPSG:4326"):
        from_graph(graph)
    graph = _parallel_graph()
    del graph.nodes[3]["x"]
    with pytest.raises(NetworkError, match="numeric `x`"):
        from_graph(graph)


def test_errors_are_fleetsim_errors() -> None:
    assert issubclass(NetworkError, FleetsimError) and issubclass(ValidationError, FleetsimError)


# --------------------------------------------------------------------------------------------
# profiles, immutability, caching
# --------------------------------------------------------------------------------------------


def test_with_profiles_scales_one_class_and_shares_arrays(ordos: RoadNetwork) -> None:
    slow = ordos.with_profiles({"taxi": SpeedProfile(expressway_kmh=120.0, factor=0.5)})
    target = ordos.places.locate("Kangbashi")
    np.testing.assert_allclose(
        slow.tree_to(target, "taxi").time_s, 2 * ordos.tree_to(target, "taxi").time_s
    )
    np.testing.assert_array_equal(
        slow.tree_to(target, "coach").time_s, ordos.tree_to(target, "coach").time_s
    )
    assert slow.node_ids is ordos.node_ids and slow.zone is ordos.zone
    u, v, k = next(iter(ordos.graph.edges(keys=True)))
    assert slow.graph.edges[u, v, k]["travel_time_taxi"] == pytest.approx(
        2 * ordos.graph.edges[u, v, k]["travel_time_taxi"]
    )
    assert slow.profiles["taxi"].factor == 0.5 and ordos.profiles["taxi"].factor == 1.0


def test_a_class_of_its_own_is_routed_after_the_defaults(ordos: RoadNetwork) -> None:
    tank = ordos.with_profiles({"tank": SpeedProfile(expressway_kmh=50.0, other_kmh=50.0)})
    assert tank.classes == (*DEFAULT_CLASSES, "tank") and "tank" not in ordos.classes
    for _, _, data in list(tank.graph.edges(data=True))[:200]:
        speed = min(float(data["speed_kph"]), 50.0)
        assert data["travel_time_tank"] == pytest.approx(data["length"] / (speed / 3.6))
        assert data["travel_time_tank"] >= data["travel_time_hazmat"] - 1e-9
    target = ordos.places.locate("Kangbashi")
    slow, fast = tank.tree_to(target, "tank").time_s, tank.tree_to(target, "taxi").time_s
    assert np.array_equal(np.isfinite(slow), np.isfinite(fast))
    assert (slow[np.isfinite(slow)] >= fast[np.isfinite(fast)] - 1e-6).all()
    with pytest.raises(ValidationError, match=r"unknown vehicle class 'tank'.*classes: taxi"):
        ordos.tree_to(target, "tank")


def test_profiles_are_validated(ordos: RoadNetwork) -> None:
    with pytest.raises(ValidationError, match=r"vehicle class name.*'two words'"):
        ordos.with_profiles({"two words": SpeedProfile(expressway_kmh=50.0)})
    with pytest.raises(ValidationError, match="SpeedProfile"):
        ordos.with_profiles({"taxi": 50})  # type: ignore[dict-item]


def test_network_is_immutable_and_trees_are_cached(ordos: RoadNetwork) -> None:
    assert nx.is_frozen(ordos.graph)
    with pytest.raises(nx.NetworkXError):
        ordos.graph.add_node(-1)
    tree = ordos.tree_to(3, "bus")
    assert ordos.tree_to(3, "bus") is tree
    for array in (tree.time_s, tree.length_m, tree.next_hop, ordos.lat, ordos.zone):
        assert not array.flags.writeable
    times = ordos.edge_times("bus")
    times.data[:] = 0.0  # a copy: the network is unaffected
    assert ordos.edge_times("bus").data.max() > 0
    assert ordos.classes == tuple(DEFAULT_CLASSES)


def test_info(ordos: RoadNetwork) -> None:
    info = ordos.info()
    assert info["nodes"] == ordos.n_nodes and info["edges"] == ordos.n_edges
    assert info["dropped_nodes"] == ordos.dropped_nodes
    assert sum(info["nodes_per_zone"].values()) == ordos.n_nodes
    assert info["bbox"] == list(ordos.bbox)
    assert 1000 < info["road_km"] < 10000
    assert info["central_nodes"] == int(ordos.central.sum()) > 0


# --------------------------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------------------------


def test_graphml_export_reloads_with_same_travel_times(
    any_network: RoadNetwork, tmp_path: Path
) -> None:
    path = export(any_network, tmp_path / "net.graphml")
    again = load_network(path)
    np.testing.assert_array_equal(again.node_ids, any_network.node_ids)
    np.testing.assert_array_equal(again.zone, any_network.zone)
    np.testing.assert_array_equal(again.central, any_network.central)
    assert again.places.names == any_network.places.names and again.n_edges == any_network.n_edges
    for vehicle in DEFAULT_CLASSES:
        a, b = any_network.edge_times(vehicle), again.edge_times(vehicle)
        np.testing.assert_array_equal(a.indptr, b.indptr)
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=0)


def test_graphml_export_of_tiny_osm_keeps_circuity_once(tiny_osm: Path, tmp_path: Path) -> None:
    net = load_network(tiny_osm)
    again = load_network(export(net, tmp_path / "tiny.graphml"))
    lengths = {(u, v): d["length"] for u, v, d in net.graph.edges(data=True)}
    for u, v, data in again.graph.edges(data=True):
        assert data["length"] == pytest.approx(lengths[(u, v)], rel=1e-12)
    assert again.places.locate("first") == again.index_of(1)  # alt_name survives


def _osmnx_graphml(graph: nx.MultiDiGraph, path: Path, source: str) -> bytes:
    """What ``osmnx.save_graphml`` writes of ``graph`` as :func:`save_graphml` prepares it."""
    graph = graph.copy()
    for _, data in [*graph.nodes(data=True), *((u, d) for u, _, d in graph.edges(data=True))]:
        for key in [k for k, v in data.items() if v is None]:
            del data[key]
    graph.graph["fleetsim_source"] = source
    ox.save_graphml(graph, path)
    return path.read_bytes()


def test_save_graphml_writes_the_bytes_osmnx_writes(
    any_network: RoadNetwork, tmp_path: Path
) -> None:
    graph = any_network.graph.copy()
    expected = _osmnx_graphml(graph, tmp_path / "osmnx.graphml", "src")
    assert save_graphml(graph, tmp_path / "net.graphml", source="src").read_bytes() == expected


def test_save_graphml_escapes_as_lxml_does(tmp_path: Path) -> None:
    odd = 'a & b <c> "d" \n\t\r 康巴什'
    graph = nx.MultiDiGraph(crs="epsg:4326", note=odd)
    graph.add_node(1, y=39.5, x=109.75, name=odd, ref=None)
    graph.add_node(odd, y=39.6, x=109.8, **{odd: 1})
    graph.add_node(3)
    graph.add_edge(1, odd, highway="primary", length=12.5, osmid=[1, 2], oneway=False)
    graph.add_edge(1, odd, highway=odd, length=1e-7)
    graph.add_edge(3, 1)
    graph.add_edge(3, 1, key=odd, name="x")
    expected = _osmnx_graphml(graph, tmp_path / "osmnx.graphml", odd)
    assert save_graphml(graph, tmp_path / "net.graphml", source=odd).read_bytes() == expected
    graph.nodes[3]["name"] = "bell \x07"  # not XML: refused as OSMnx (lxml) refuses it
    with pytest.raises(ValueError, match="XML compatible"):
        save_graphml(graph, tmp_path / "bad.graphml", source="src")


def test_geopackage_export_is_readable(ordos: RoadNetwork, tmp_path: Path) -> None:
    pyogrio = pytest.importorskip("pyogrio")
    path = export(ordos, tmp_path / "ordos.gpkg")
    nodes = pyogrio.read_dataframe(path, layer="nodes")
    edges = pyogrio.read_dataframe(path, layer="edges")
    assert len(nodes) == ordos.n_nodes and len(edges) == ordos.n_edges
    assert set(nodes["zone"]) == set(ordos.zone.tolist())
    assert {f"travel_time_{v}" for v in DEFAULT_CLASSES} <= set(edges.columns)


def test_export_rejects_unknown_suffix(ordos: RoadNetwork, tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match=r"\.graphml or \.gpkg"):
        export(ordos, tmp_path / "net.shp")


@pytest.mark.parametrize("name", ["net.graphml", "net.gpkg"])
def test_export_to_unwritable_place_is_a_network_error(
    ordos: RoadNetwork, tmp_path: Path, name: str
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(NetworkError, match="cannot write"):
        export(ordos, blocker / name)


def test_network_pickles_for_process_pools(ordos: RoadNetwork) -> None:
    slow = ordos.with_profiles({"bus": SpeedProfile(expressway_kmh=80.0, other_kmh=50.0)})
    target = ordos.places.locate("Aoleqi")
    for net in (ordos, slow):
        again = pickle.loads(pickle.dumps(net))
        np.testing.assert_array_equal(
            again.tree_to(target, "bus").time_s, net.tree_to(target, "bus").time_s
        )
        assert nx.is_frozen(again.graph) and again.places.names == net.places.names
        u, v, k = next(iter(net.graph.edges(keys=True)))
        assert again.graph.edges[u, v, k] == net.graph.edges[u, v, k]
        assert again.places.nearest_node(39.6, 109.8) == net.places.nearest_node(39.6, 109.8)
