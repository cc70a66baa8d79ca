"""Road closures: ``sim.closures.with_closures`` removes exactly the selected edges, and routes
change exactly as networkx says on the same graph minus those edges."""

from __future__ import annotations

import math
import pickle

import networkx as nx
import numpy as np
import pytest

from sim.closures import Closure, closure_edges, with_closures
from sim.errors import NetworkError, ValidationError
from sim.network import RoadNetwork
from sim.vehicles import SpeedProfile

PAIRS = [
    ("xuejiawan", "dongsheng"),
    ("dongsheng", "xuejiawan"),
    ("kangbashi", "aoleqi"),
    ("baotou", "yulin"),
    ("shulinzhao", "kangbashi"),
]
CLOSURES = [
    Closure(road="G18", between=("xuejiawan", "dafanpu")),
    Closure(road="g65"),  # refs match case-insensitively
    Closure(near="kangbashi", radius_km=3),
    Closure(near="39.8396,110.3741", radius_km=1),
]


def _nx_time(graph: nx.MultiDiGraph, a: int, b: int, vehicle: str) -> float:
    try:
        return nx.shortest_path_length(graph, a, b, weight=f"travel_time_{vehicle}")
    except nx.NetworkXNoPath:
        return math.inf


@pytest.mark.parametrize("closure", CLOSURES, ids=lambda c: c.road or c.near)
@pytest.mark.parametrize("vehicle", ["taxi", "hazmat"])
def test_closed_routes_match_networkx_minus_the_edges(
    ordos: RoadNetwork, closure: Closure, vehicle: str
) -> None:
    removed = closure_edges(ordos, closure)
    edges = list(ordos.graph.edges(keys=True))
    reference = nx.MultiDiGraph(ordos.graph)
    reference.remove_edges_from([edges[j] for j in removed.tolist()])
    closed = with_closures(ordos, [closure])
    assert closed.n_edges == ordos.n_edges - removed.size
    assert closed.graph.number_of_edges() == closed.n_edges
    longer = 0
    for a, b in PAIRS:
        ia, ib = ordos.places.locate(a), ordos.places.locate(b)
        want = _nx_time(reference, int(ordos.node_ids[ia]), int(ordos.node_ids[ib]), vehicle)
        got = float(closed.tree_to(ib, vehicle).time_s[ia])
        before = float(ordos.tree_to(ib, vehicle).time_s[ia])
        assert got == pytest.approx(want, rel=1e-9) if math.isfinite(want) else math.isinf(got)
        assert got >= before - 1e-9
        longer += got > before + 1e-6
    assert longer >= 1  # every closure above lengthens or cuts at least one of the routes


def test_a_closure_closes_both_directions_and_every_parallel_edge(ordos: RoadNetwork) -> None:
    closure = Closure(road="G18", between=("xuejiawan", "dafanpu"))
    removed = closure_edges(ordos, closure)
    data = list(ordos.graph.edges(data=True))
    pairs = {(data[j][0], data[j][1]) for j in removed.tolist()}
    assert all((v, u) in pairs for u, v in pairs)
    assert all(data[j][2]["ref"] == "G18" for j in removed.tolist())
    x, d = ordos.places.locate("xuejiawan"), ordos.places.locate("dafanpu")
    ids = {int(ordos.node_ids[x]), int(ordos.node_ids[d])}
    touched = {n for pair in pairs for n in pair}
    assert ids <= touched  # the section runs from one place to the other
    closed = with_closures(ordos, [closure])
    assert closed.road_distance_from(x)[d] > ordos.road_distance_from(x)[d]


def test_radius_closure_isolates_a_point(ordos: RoadNetwork) -> None:
    closed = with_closures(ordos, [Closure(near="39.8396,110.3741", radius_km=1)])
    node = ordos.places.locate("39.8396,110.3741")
    assert math.isinf(closed.tree_to(node, "taxi").time_s[ordos.places.locate("dongsheng")])
    assert closed.n_nodes == ordos.n_nodes  # nodes are kept


def test_with_closures_keeps_profiles_and_survives_with_profiles(ordos: RoadNetwork) -> None:
    slow = ordos.with_profiles({"taxi": SpeedProfile(expressway_kmh=120.0, factor=0.5)})
    closure = Closure(road="G65")
    closed = with_closures(slow, [closure])
    assert dict(closed.profiles) == dict(slow.profiles)
    again = closed.with_profiles(dict(ordos.profiles))
    assert again.n_edges == closed.n_edges
    a, b = ordos.places.locate("shulinzhao"), ordos.places.locate("kangbashi")
    t_slow = closed.tree_to(b, "taxi").time_s[a]
    t_fast = again.tree_to(b, "taxi").time_s[a]
    assert t_slow == pytest.approx(2 * t_fast)
    assert with_closures(ordos, []) is ordos
    assert pickle.loads(pickle.dumps(closed)).n_edges == closed.n_edges
    assert np.array_equal(ordos.node_ids, closed.node_ids)


@pytest.mark.parametrize(
    ("closure", "match"),
    [
        (Closure(road="G19"), r"no road with ref 'G19'.*did you mean: G109, G18, G210\?"),
        (Closure(road="G18", between=("xuejiawan", "aoleqi")), r"'aoleqi' is .* km from road"),
        (Closure(road="G18", between=("xuejiawan", "xuejiawan")), r"same node"),
        (Closure(near="39.0,111.6", radius_km=1), r"no road within 1 km"),
        (Closure(near="kangbashy", radius_km=1), r"unknown place 'kangbashy'"),
    ],
)
def test_closure_errors(ordos: RoadNetwork, closure: Closure, match: str) -> None:
    with pytest.raises(NetworkError, match=match):
        with_closures(ordos, [closure])


def test_closure_arguments_are_validated() -> None:
    with pytest.raises(ValidationError, match="either `road` or `near`"):
        Closure()
    with pytest.raises(ValidationError, match="either `road` or `near`"):
        Closure(road="G18", near="kangbashi", radius_km=1)
    with pytest.raises(ValidationError, match="`radius_km` must be > 0"):
        Closure(near="kangbashi", radius_km=0)
    with pytest.raises(ValidationError, match="`between` needs `road` and exactly two"):
        Closure(road="G18", between=("xuejiawan",))


def test_closures_are_applied_once_and_idempotently(ordos):
    """Closing twice used to fail ("the two places are not joined along it"); validation and
    the run each applied the closures again."""
    from sim.closures import with_closures
    from sim.scenario import load_scenario_with_network

    scenario, base = load_scenario_with_network("scenarios/jungar-hazmat-spill.yaml")
    closed = with_closures(base, scenario.closures)
    assert closed is not base and closed.n_edges < base.n_edges
    assert with_closures(base, scenario.closures) is closed  # computed once
    assert with_closures(closed, scenario.closures) is closed  # idempotent
    assert with_closures(closed, ()) is base  # other closures start from the open network
