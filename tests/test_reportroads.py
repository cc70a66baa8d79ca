"""The road layer of the report's map (``sim/reportroads.py``): a network too large to draw
road by road keeps every major road, thins the minor ones within the budget of points and
says so on the page; a small network is drawn as it always was."""

from __future__ import annotations

import base64
import math
import re

import networkx as nx
import numpy as np
import pytest
import shapely

from benchmarks._synthetic import road_graph, write_pbf
from sim.netload import cached_network, from_graph
from sim.network import RoadNetwork
from sim.reportroads import MAJOR_CLASSES, TOLERANCE_M, edge_xy, road_layer
from tests.test_report import page_data, traces

#: Metres per degree of latitude.
M_PER_DEG = 111_320.0


def _one_group(u, v, data) -> str:
    return "roads"


def _by_class(u, v, data) -> str:
    return str(data["highway"])


def _unique_roads(network: RoadNetwork) -> dict[tuple[int, int], tuple[str, np.ndarray, int]]:
    """Every road once: node pair -> (class, polyline of its first edge, directed edges)."""
    roads: dict[tuple[int, int], tuple[str, np.ndarray, int]] = {}
    for u, v, data in network.graph.edges(data=True):
        pair = (min(u, v), max(u, v))
        if pair in roads:
            cls, xy, n = roads[pair]
            roads[pair] = (cls, xy, n + 1)
        else:
            roads[pair] = (data["highway"], edge_xy(network.graph, u, v, data), 1)
    return roads


def _metres(xy: np.ndarray, coslat: float) -> np.ndarray:
    return np.asarray(xy, float) * np.array([coslat, 1.0]) * M_PER_DEG


def _length_m(lines: list[np.ndarray], coslat: float) -> float:
    return sum(float(np.hypot(*np.diff(_metres(x, coslat), axis=0).T).sum()) for x in lines)


def _distances_m(lines: list[np.ndarray], points: np.ndarray, coslat: float) -> np.ndarray:
    """Distance (m) of every point to the nearest of the polylines."""
    tree = shapely.STRtree([shapely.LineString(_metres(x, coslat)) for x in lines])
    _, distance = tree.query_nearest(shapely.points(_metres(points, coslat)), return_distance=True)
    return distance


def _vertices(roads, classes) -> np.ndarray:
    """Every point of every road of the classes (Douglas-Peucker keeps each within its
    tolerance of the simplified line)."""
    return np.vstack([xy for cls, xy, _ in roads.values() if cls in classes])


def _grid(n_nodes: int, relabel=None, central=None) -> RoadNetwork:
    """A synthetic street grid (``benchmarks/_synthetic.py``), optionally with some classes
    renamed (``relabel(i, j, data) -> class``) and a central area (``central(i, j)``)."""
    graph = road_graph(n_nodes, seed=3)
    side = round(math.sqrt(n_nodes))
    if relabel is not None:
        for u, v, data in graph.edges(data=True):
            data["highway"] = relabel(min(u, v) // side, min(u, v) % side, u, v, data)
    if central is not None:
        for k, data in graph.nodes(data=True):
            data["central"] = central(k // side, k % side)
    return from_graph(graph, source="grid")


def _coslat(network: RoadNetwork) -> float:
    return math.cos(math.radians(float(np.mean(network.lat))))


def test_a_small_network_is_drawn_as_it_always_was(any_network):
    """The embedded Ordos network and the real extracts: every road once, point for point."""
    layer = road_layer(any_network, _one_group)
    roads = _unique_roads(any_network)
    assert not layer.thinned and layer.note() is None
    assert layer.drawn == layer.edges == any_network.n_edges
    assert layer.points == layer.full_points == sum(len(xy) + 1 for _, xy, _ in roads.values())
    drawn = layer.lines["roads"]
    assert len(drawn) == len(roads)
    assert all(np.array_equal(a, xy) for a, (_, xy, _) in zip(drawn, roads.values(), strict=True))


def test_a_large_grid_keeps_every_major_road_joined_and_says_what_it_left_out():
    network = _grid(3_600)
    roads = _unique_roads(network)
    full = sum(len(xy) + 1 for _, xy, _ in roads.values())
    layer = road_layer(network, _by_class, budget=full // 3)
    assert layer.thinned and layer.full_points == full
    assert layer.major == ("motorway", "primary", "secondary")
    assert layer.dropped == ("residential",) and layer.central_only == ()
    assert layer.points <= full // 3
    # Drawn: the directed edges of every major road, and nothing else.
    majors = [r for r in roads.values() if r[0] in MAJOR_CLASSES]
    assert layer.drawn == sum(n for _, _, n in majors) < layer.edges == network.n_edges
    assert set(layer.lines) == {"motorway", "primary", "secondary"}
    coslat = _coslat(network)
    for cls, lines in layer.lines.items():
        mine = [r for r in majors if r[0] == cls]
        far = _distances_m(lines, _vertices(roads, {cls}), coslat)
        assert far.max() <= TOLERANCE_M + 1.0, cls  # every road of the class is on the map
        # ... and nothing more (as long, to the simplification), in fewer, joined polylines.
        expected = _length_m([xy for _, xy, _ in mine], coslat)
        assert _length_m(lines, coslat) == pytest.approx(expected, rel=1e-3)
        assert len(lines) < len(mine) / 2
    note = layer.note()
    assert note is not None
    assert note.startswith(f"roads: {layer.drawn:,} of {layer.edges:,} edges drawn (every ")
    assert "motorway, primary and secondary road; no residential)" in note
    assert f"{full:,} points" in note and f"{TOLERANCE_M:g} m" in note


def test_minor_classes_fill_the_budget_most_important_first_and_the_centre_first():
    """Residential streets of every third row made tertiary; a central square. Tertiary
    fits everywhere, residential only in the centre."""

    def relabel(i, j, u, v, data):
        row = abs(u - v) == 1  # an east-west street of row i
        if data["highway"] == "residential" and row and i % 3 == 1:
            return "tertiary"
        return data["highway"]

    network = _grid(3_600, relabel=relabel, central=lambda i, j: 20 <= i < 30 and 20 <= j < 30)
    roads = _unique_roads(network)
    central = {n for n, c in network.graph.nodes(data="central") if c}
    major = road_layer(network, _by_class, budget=1)  # majors only: over any budget
    assert major.dropped == ("tertiary", "residential") and major.points > 1
    layer = road_layer(network, _by_class, budget=major.points + 4_500)
    assert layer.points <= major.points + 4_500
    assert layer.dropped == () and layer.central_only == ("residential",)
    in_centre = {p for p, r in roads.items() if r[0] == "residential" and set(p) <= central}
    assert layer.drawn == sum(
        n for p, (cls, _, n) in roads.items() if cls != "residential" or p in in_centre
    )
    coslat = _coslat(network)
    assert _distances_m(layer.lines["tertiary"], _vertices(roads, {"tertiary"}), coslat).max() < 11
    near = _distances_m(
        layer.lines["residential"], np.vstack([roads[p][1] for p in in_centre]), coslat
    )
    assert near.max() < 11
    assert "every motorway, primary and secondary road; residential only in the central" in (
        layer.note() or ""
    )


def test_a_ring_of_roads_is_drawn_closed():
    """Roads that meet end to end all round (every node passed through) are one closed line."""
    graph = nx.MultiDiGraph(crs="epsg:4326")
    k = 40
    for i in range(k):
        a = 2 * math.pi * i / k
        graph.add_node(i, x=108 + 0.05 * math.cos(a), y=39 + 0.05 * math.sin(a))
    for i in range(k):
        graph.add_edge(i, (i + 1) % k, highway="residential")
        graph.add_edge((i + 1) % k, i, highway="residential")
    layer = road_layer(from_graph(graph), _one_group, budget=10)
    assert layer.thinned and layer.major == () and layer.dropped == ("residential",)
    assert "no major road in the network" in (layer.note() or "")
    ring = road_layer(from_graph(graph), _one_group, budget=10 * k)
    assert not ring.thinned  # 3 points a road: 120 fit
    closed = road_layer(from_graph(graph), _one_group, budget=100)
    (line,) = closed.lines["roads"]
    assert closed.thinned and closed.dropped == () and np.array_equal(line[0], line[-1])
    assert len(line) == k + 1  # a 5 km circle keeps its 40 points at 10 m


@pytest.mark.slow
def test_a_report_on_a_large_grid_stays_small_and_draws_every_major_road(tmp_path):
    """A 40,000-node street grid (as `python -m benchmarks pbf` makes, PBF and all): every
    road would take 2 MB of the page; the page without Plotly's own JavaScript stays under
    1 MB, draws every motorway, primary and secondary, and says what it left out."""
    from plotly.offline import get_plotlyjs

    import sim

    graph = road_graph(40_000, seed=5)
    pbf = write_pbf(graph, tmp_path / "grid.osm.pbf")
    lat, lon = graph.nodes[20_100]["y"], graph.nodes[20_100]["x"]
    dlat, dlon = graph.nodes[25_150]["y"], graph.nodes[25_150]["x"]
    scenario = tmp_path / "grid.yaml"
    scenario.write_text(
        f"name: grid\nnetwork: {pbf}\nreplications: 2\n"
        "fleet:\n  base: none\n"
        "  operators: [{name: Taxi co, vehicle_class: taxi, dispatchers: 1}]\n"
        f'  depots:\n    - {{name: depot, location: "{dlat},{dlon}", vehicles: {{taxi: 10}}, '
        "operators: {taxi: Taxi co}}\n"
        f'incidents:\n  - {{name: A, location: "{lat},{lon}", demand: {{taxi: 4}}}}\n',
        encoding="utf-8",
    )
    out = tmp_path / "run"
    sim.run(sim.load_scenario(scenario), out=out, figures=False)
    html = (out / "report.html").read_text(encoding="utf-8")
    size = len(html.encode("utf-8")) - len(get_plotlyjs().encode("utf-8"))
    assert size < 1_000_000, f"{size:,} bytes besides Plotly's JavaScript"
    network = cached_network(str(pbf))  # the network the run loaded
    roads = _unique_roads(network)
    m = re.search(
        r'<p class="note roads">roads: ([\d,]+) of ([\d,]+) edges drawn \(([^)]*)\)', html
    )
    assert m is not None
    drawn, edges = (int(x.replace(",", "")) for x in m.group(1, 2))
    assert edges == network.n_edges
    assert drawn == sum(n for cls, _, n in roads.values() if cls in MAJOR_CLASSES)
    assert m.group(3) == "every motorway, primary and secondary road; no residential"
    lines = []
    for trace in traces(page_data(html), "roads (colour: banner/district)"):
        lon_ = np.frombuffer(base64.b64decode(trace["x"]["bdata"]), np.float32)
        lat_ = np.frombuffer(base64.b64decode(trace["y"]["bdata"]), np.float32)
        xy = np.column_stack([lon_, lat_]).astype(float)
        gaps = np.flatnonzero(np.isnan(xy[:, 0]))
        parts = [p[~np.isnan(p[:, 0])] for p in np.split(xy, gaps)]
        lines += [p for p in parts if len(p) >= 2]
    far = _distances_m(lines, _vertices(roads, MAJOR_CLASSES), _coslat(network))
    assert far.max() <= TOLERANCE_M + 2.0  # float32 on the page: a metre
