"""Issue 11, items 6 ("names, not numbers") and 1 ("locations"): a planner can tell where a
node is, name roads as the data names them, and no point snaps silently to a far node.

Each test first reproduces the failure the issue describes (on the code before the fix it
fails at the first assertion), then checks properties that break if the code were wrong.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.closures import Closure, closure_edges
from sim.errors import NetworkError, ValidationError
from sim.geo import haversine_m
from sim.network import RoadNetwork

COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse: an unknown subcommand
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------------------------
# Item 6: names, not numbers
# ---------------------------------------------------------------------------------------------


def test_item6_network_roads_lists_every_ref_with_aliases_in_both_scripts(
    capsys: pytest.CaptureFixture[str], ordos: RoadNetwork
) -> None:
    code, out, err = _run(capsys, "network", "roads", "--json")
    assert code == 0, err  # before: "invalid choice: 'roads'", exit 2
    roads = {r["ref"]: r for r in json.loads(out)["roads"]}
    edge_refs = {p for e in ordos.edge_refs for p in str(e or "").split(";") if p}
    assert set(roads) == edge_refs  # every ref, none cut off
    dongkang = roads["UNNUMBERED-Dongkang"]
    assert "东康线" in dongkang["names_zh"] and "东康线" in dongkang["aliases"]
    assert any("Dongkang" in n for n in dongkang["names"])
    # km: each road between two nodes once, so G18's km is below the sum of its edges
    g18 = [j for j, e in enumerate(ordos.edge_refs) if "G18" in str(e).split(";")]
    assert 0 < roads["G18"]["km"] < ordos.edge_length[g18].sum() / 1000.0
    code, text, _ = _run(capsys, "network", "roads")
    assert code == 0 and "东康线" in text and "UNNUMBERED-Dongkang" in text


def test_item6_network_places_lists_every_name_and_each_locates_its_node(
    capsys: pytest.CaptureFixture[str], ordos: RoadNetwork
) -> None:
    code, out, err = _run(capsys, "network", "places", "--json")
    assert code == 0, err  # before: "invalid choice: 'places'", exit 2
    places = json.loads(out)["places"]
    assert {p["name"] for p in places} == set(ordos.places.names)
    for p in places:
        node = ordos.index_of(p["node"])
        for text in [p["name"], p["place"], p["name_zh"], *p["aliases"]]:
            if text and ordos.places.locate(text) == node:
                continue
            # an alias an earlier node took is listed but resolves to that node
            assert text is None or ordos.places.locate(text) < node
    assert any(p["name_zh"] == "薛家湾镇" for p in places)


def test_item6_closures_accept_a_road_by_its_alias(ordos: RoadNetwork) -> None:
    by_ref = closure_edges(ordos, Closure(road="UNNUMBERED-Dongkang"))
    by_zh = closure_edges(ordos, Closure(road="东康线"))  # before: "no road with ref '东康线'"
    assert by_zh.tolist() == by_ref.tolist() and by_ref.size > 0
    by_id = closure_edges(ordos, Closure(road="dongkang"))  # the fleetsim:road id
    assert by_id.tolist() == by_ref.tolist()
    # an alias of a part of a road closes that part only
    part = closure_edges(ordos, Closure(road="大饭铺至龙口高速公路"))
    whole = closure_edges(ordos, Closure(road="UNNUMBERED-Hohhot-Jungar"))
    assert 0 < part.size < whole.size and set(part.tolist()) <= set(whole.tolist())


def test_item6_error_hints_point_to_the_listings_and_keep_suggestions(
    ordos: RoadNetwork,
) -> None:
    with pytest.raises(NetworkError) as info:
        closure_edges(ordos, Closure(road="G19"))
    message = str(info.value)
    assert "did you mean: G109, G18, G210?" in message
    assert "fleetsim network roads" in message  # before: a list of refs cut off by "..."
    with pytest.raises(NetworkError) as info:
        closure_edges(ordos, Closure(road="zzzz"))
    assert "fleetsim network roads" in str(info.value) and "..." not in str(info.value)
    with pytest.raises(NetworkError) as info:
        ordos.places.locate("zzzzqqqq")
    assert "fleetsim network places" in str(info.value) and "..." not in str(info.value)
    with pytest.raises(NetworkError, match="did you mean: Kangbashi"):
        ordos.places.locate("Kangbashy")


def _expected_where(net: RoadNetwork, i: int) -> tuple[str, float, str]:
    """Nearest named place, km and compass, computed independently of sim.roads."""
    names = net.places.names
    best = min(names, key=lambda n: haversine_m(net.lat[names[n]], net.lon[names[n]],
                                                net.lat[i], net.lon[i]))  # fmt: skip
    j = names[best]
    km = float(haversine_m(net.lat[j], net.lon[j], net.lat[i], net.lon[i])) / 1000.0
    # flat-earth bearing is enough away from the 8 sector borders
    dy = float(net.lat[i] - net.lat[j])
    dx = float(net.lon[i] - net.lon[j]) * math.cos(math.radians(float(net.lat[j])))
    angle = math.degrees(math.atan2(dx, dy)) % 360
    return best, km, COMPASS[round(angle / 45) % 8]


def test_item6_node_labels_name_the_road_and_the_nearest_place(ordos: RoadNetwork) -> None:
    roads = ordos.roads  # before: RoadNetwork had no road index or labels
    kangbashi = ordos.places.names["Kangbashi"]
    assert roads.label(kangbashi) == "Kangbashi"
    pattern = re.compile(r"^(?:(\S+) )?(\d+(?:\.\d)?) km (N|NE|E|SE|S|SW|W|NW) of (.+)$")
    checked = 0
    named = set(ordos.places.names.values())
    for i in range(0, ordos.n_nodes, 7):
        if i in named:
            continue
        label = roads.label(i)
        m = pattern.match(label)
        assert m, label
        ref, km, direction, place = m.groups()
        best, want_km, want_dir = _expected_where(ordos, i)
        assert place == best and abs(float(km) - want_km) <= 0.51, (label, want_km)
        touching = (ordos.edge_u == i) | (ordos.edge_v == i)
        refs = [str(ordos.edge_refs[j] or "") for j in np.flatnonzero(touching)]
        at_node = {p for e in refs for p in e.split(";")}
        assert ref in at_node
        checked += 1
        if direction != want_dir:  # only near a sector border (flat bearing vs great circle)
            angle = COMPASS.index(direction) * 45
            assert min(abs(angle - COMPASS.index(want_dir) * 45), 45) == 45
    assert checked > 50


def test_item6_route_and_table_carry_labels(
    capsys: pytest.CaptureFixture[str], ordos: RoadNetwork
) -> None:
    first = next(k for k in range(ordos.n_nodes) if ordos.places.name_of(k) is None)
    point = ordos.places.lat_lon(first)
    i = ordos.places.locate(point)  # (another node may share the coordinates)
    code, out, _ = _run(capsys, "route", "--from", point, "--to", "Xuejiawan", "--vehicle", "bus")
    assert code == 0
    # before: "node 2 -> Xuejiawan (node 5) ...": a number, not a place
    assert out.startswith(f"{ordos.roads.label(i)} (node {int(ordos.node_ids[i])}) -> Xuejiawan")
    assert " km " in out.split(" -> ")[0]
    code, out, _ = _run(capsys, "network", "table", "--to", point, "--json")
    table = json.loads(out)
    assert table["to_label"] == ordos.roads.label(i)
    assert all(r["label"] == r["seat"] for r in table["rows"])  # seats are named places


def test_item6_sweep_rows_and_sites_csv_carry_a_label(
    tmp_path: Path, ordos: RoadNetwork, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["sweep", "ordos-123", "--sites", "grid:60", "--reps", "2", "--workers", "1",
                 "--out", str(out), "--no-figures", "--quiet"])  # fmt: skip
    assert code == 0
    with (out / "sites.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert "label" in rows[0]  # before: node ids and place ids only
    for row in rows:
        i = ordos.index_of(int(row["node"]))
        assert row["label"] == ordos.roads.label(i)
        if ordos.places.name_of(i) is None:
            assert re.search(r"km (N|NE|E|SE|S|SW|W|NW) of ", row["label"])
    printed = capsys.readouterr().out  # the table a planner reads: labels, not "node 462"
    for row in rows:
        site = row["label"] if row["label"] == row["site"] else f"{row['label']} ({row['site']})"
        assert site in printed


def test_item6_labels_without_named_places_or_refs_fall_back() -> None:
    import networkx as nx

    from sim.netload import from_graph

    g = nx.MultiDiGraph()
    for k, (y, x) in enumerate([(0.0, 0.0), (0.0, 0.01), (0.01, 0.01)]):
        g.add_node(k + 1, x=x, y=y)
    for u, v in [(1, 2), (2, 3), (3, 1)]:
        g.add_edge(u, v, highway="primary", length=1000.0)
        g.add_edge(v, u, highway="primary", length=1000.0)
    net = from_graph(g)
    assert [net.roads.label(i) for i in range(3)] == [f"node {int(n)}" for n in net.node_ids]
    assert net.roads.roads == []
    assert np.array_equal(net.roads.edge_mask("G1"), np.zeros(net.n_edges, bool))


# ---------------------------------------------------------------------------------------------
# Item 1: locations
# ---------------------------------------------------------------------------------------------

_DESERT = """name: desert
{extra}
weather: {{trip_time_spread: 0.0, trip_time_median: 1.0}}
replications: 20
incidents:
  - location: "40.20,108.50"
    demand: {{taxi: 5}}
"""


def test_item1_far_point_is_refused_naming_distance_road_and_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "desert.yaml"
    path.write_text(_DESERT.format(extra=""), encoding="utf-8")
    code, out, err = _run(capsys, "validate", str(path))
    assert code == 2, out  # before: "OK", a banner-tier incident at the Xini seat
    m = re.search(r"incidents\[0\]\.location: '40\.20,108\.50' is (\d+\.\d) km", err)
    assert m and 43.5 < float(m.group(1)) < 45.0, err
    assert "(Xini)" in err and "NW of Xini" in err and "nearest road" in err
    assert str(path.name) in err and ":5:" in err  # file and line, as other problems
    # a threshold above the distance accepts the point; a bad threshold is a problem
    path.write_text(_DESERT.format(extra="locations: {max_snap_km: 50}"), encoding="utf-8")
    assert _run(capsys, "validate", str(path))[0] == 0
    path.write_text(_DESERT.format(extra="locations: {max_snap_km: -1}"), encoding="utf-8")
    code, _, err = _run(capsys, "validate", str(path))
    assert code == 2 and "locations.max_snap_km" in err


def test_item1_access_leg_sets_tier_from_the_true_point_and_adds_its_minutes(
    tmp_path: Path,
) -> None:
    from sim.experiment import run
    from sim.locations import ACCESS_DETOUR, ACCESS_SPEED_KMH
    from sim.plan import PHONE
    from sim.planning import prepare, scenario_network
    from sim.scenario import load_scenario

    far = tmp_path / "far.yaml"
    far.write_text(_DESERT.format(extra="locations: {access_legs: true}"), encoding="utf-8")
    near = tmp_path / "near.yaml"  # the same incident at its node, no access leg
    near.write_text(_DESERT.format(extra="locations: {max_snap_km: 50}"), encoding="utf-8")
    a, b = load_scenario(far), load_scenario(near)
    net = scenario_network(a)
    (pa,), (pb,) = prepare(net, a), prepare(net, b)
    assert pb.tier == "banner"  # the node is the Xini seat
    assert pa.tier == "region" and pa.deadline_min == 180.0  # the true point is 44 km out
    km = pa.snap_km[0]
    assert 43.5 < km < 45.0
    leg = km * ACCESS_DETOUR / ACCESS_SPEED_KMH * 60.0
    assert pa.access_min == pytest.approx(leg)
    for legs_a, legs_b in zip(pa.depot_legs_min, pb.depot_legs_min, strict=True):
        if legs_b.size:
            assert legs_a[:-1].tolist() == legs_b[:-1].tolist()
            assert legs_a[-1] - legs_b[-1] == pytest.approx(leg)
    ra = run(a, replications=10, engine="simpy").summary["incidents"][0]
    rb = run(b, replications=10, engine="simpy").summary["incidents"][0]
    for q in ("p50", "p90"):  # trip factor fixed at 1: exactly the leg's minutes later
        got = ra["completion_min"][q] - rb["completion_min"][q]
        assert got == pytest.approx(leg, abs=0.01), q
    assert ra["snap_km"]["location"] == pytest.approx(km, abs=1e-3)
    assert ra["access_min"] == pytest.approx(leg, abs=1e-3)
    # both engines see the leg identically (a random trip factor: the heap engine runs it)
    spread = far.read_text(encoding="utf-8").replace(
        "trip_time_spread: 0.0", "trip_time_spread: 0.1"
    )
    far.write_text(spread, encoding="utf-8")
    c = load_scenario(far)
    # The heap engine runs phone call-outs only: put the default fleet's platforms on the phone.
    phone = tuple(dataclasses.replace(o, callout=PHONE) for o in c.fleet.operators)
    c = dataclasses.replace(c, fleet=dataclasses.replace(c.fleet, operators=phone))
    fast = run(c, replications=10, engine="fast").summary["incidents"][0]
    slow = run(c, replications=10, engine="simpy").summary["incidents"][0]
    assert fast["completion_min"] == slow["completion_min"] and fast["tier"] == "region"


def test_item1_shipped_scenarios_lie_within_the_threshold() -> None:
    from sim.locations import snap
    from sim.scenario import load_scenario_with_network

    root = Path(__file__).resolve().parents[1]
    for path in sorted((root / "scenarios").glob("*.yaml")):
        scenario, net = load_scenario_with_network(path)  # validation passes
        texts = [i.location for i in scenario.incidents]
        texts += [i.staging_point for i in scenario.incidents if i.staging_point]
        texts += [d.location for d in scenario.fleet.depots]
        for text in texts:
            assert snap(net, text).km <= scenario.max_snap_km, (path.name, text)


def _grid(net: RoadNetwork, km: float) -> tuple[np.ndarray, np.ndarray]:
    """The points of ``--sites grid:KM``, laid out independently of sim.sweeps."""
    south, west, north, east = net.bbox
    dlat = km / 111.32
    dlon = km / (111.32 * math.cos(math.radians((south + north) / 2)))
    lats = [south + i * dlat for i in range(math.floor((north - south) / dlat + 1e-9) + 1)]
    lons = [west + j * dlon for j in range(math.floor((east - west) / dlon + 1e-9) + 1)]
    return np.repeat(lats, len(lons)), np.tile(lons, len(lats))


def test_item1_sweep_grid_points_far_from_the_roads_are_skipped_counted_and_keep_snap_km(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ordos: RoadNetwork
) -> None:
    from sim.saved import read_results

    # brute force: every grid point against every node (no k-d tree)
    lat, lon = _grid(ordos, 30.0)
    dist = haversine_m(lat[:, None], lon[:, None], ordos.lat[None, :], ordos.lon[None, :])
    nearest, km = dist.argmin(axis=1), dist.min(axis=1) / 1000.0
    far = int(np.sum(km > 2.0))
    assert 0 < far < lat.size
    kept: dict[int, float] = {}
    for n, d in zip(nearest[km <= 2.0].tolist(), km[km <= 2.0].tolist(), strict=True):
        kept[n] = min(d, kept.get(n, math.inf))
    kept = {n: d for n, d in kept.items() if ordos.zone[n] != "outside"}

    out = tmp_path / "grid"
    code, _, err = _run(capsys, "sweep", "ordos-123", "--sites", "grid:30", "--reps", 2,
                        "--workers", 1, "--out", out, "--no-figures")  # fmt: skip
    assert code == 0, err
    # before: no word, and each far point became the node nearest to it
    assert (
        f"{far} of {lat.size} grid points lie more than 2 km from any road node and were "
        "skipped; raise locations.max_snap_km to keep them"
    ) in err
    assert json.loads((out / "summary.json").read_text("utf-8"))["skipped_far_grid_points"] == far
    with (out / "sites.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    got = {ordos.index_of(int(r["node"])): float(r["snap_km"]) for r in rows}
    assert set(got) == set(kept)
    for n, d in kept.items():
        assert got[n] == pytest.approx(d, abs=1e-3)  # the nearest grid point's distance
    assert any(d > 0.5 for d in got.values())  # a site farther than 0.5 km keeps it
    assert read_results(out).sites["snap_km"].dtype == np.float64

    # named sites are their node: snap_km 0; an old folder without the column still reads
    seats = tmp_path / "seats"
    code, _, err = _run(capsys, "sweep", "ordos-123", "--sites", "seats", "--reps", 2,
                        "--workers", 1, "--out", seats, "--no-figures")  # fmt: skip
    assert code == 0 and "grid points" not in err
    saved = read_results(seats)
    assert saved.sites["snap_km"].tolist() == [0.0] * len(saved.sites)
    assert saved.summary["skipped_far_grid_points"] == 0
    text = (seats / "sites.csv").read_text("utf-8").splitlines()
    col = text[0].split(",").index("snap_km")
    old = [",".join(c for k, c in enumerate(line.split(",")) if k != col) for line in text]
    (seats / "sites.csv").write_text("\n".join(old) + "\n", encoding="utf-8")
    assert "snap_km" not in read_results(seats).sites.columns


def test_item1_sweep_keeps_far_grid_points_only_when_the_threshold_allows(
    ordos: RoadNetwork,
) -> None:
    from sim.sweeps import choose_sites

    strict = choose_sites(ordos, "grid:30")
    loose = choose_sites(ordos, "grid:30", max_snap_km=1000.0)
    assert loose.skipped_far == 0 and strict.skipped_far > 0
    assert strict.points == loose.points
    assert {s.node for s in strict.sites} < {s.node for s in loose.sites}
    assert max(s.snap_km for s in strict.sites) <= 2.0 < max(s.snap_km for s in loose.sites)
    with pytest.raises(ValidationError, match=r"grid points lie more than 0\.01 km"):
        choose_sites(ordos, "grid:30", max_snap_km=0.01)


def _off_road(tmp_path: Path, body: str) -> Path:
    root = Path(__file__).resolve().parents[1]
    path = tmp_path / "off-road.yaml"
    path.write_text(f"extends: {root / 'scenarios' / 'ordos-123.yaml'}\n{body}", "utf-8")
    return path


#: 3.1 km from the Altan Xire node (central urban area); 2.6 km from node 53 (central too).
_ALTAN_OFF_ROAD, _NODE53_OFF_ROAD = "39.5686,109.7916", "39.5586,109.7816"


def test_item1_validation_checks_demand_with_the_tier_of_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sim.locations import point_tier
    from sim.planning import prepare, scenario_network
    from sim.scenario import load_scenario

    # The node is central (scope central: 568 taxis); the true point, 3.1 km off the roads, is
    # banner-tier (scope region: 1,300 taxis), so 1,000 taxis can be called.
    path = _off_road(
        tmp_path,
        f"""name: off-road
locations: {{access_legs: true}}
incidents:
  - name: off the road near Altan Xire
    location: "{_ALTAN_OFF_ROAD}"
    demand: {{taxi: 1000}}
""",
    )
    code, _, err = _run(capsys, "validate", path)
    assert code == 0, err  # before: "taxi demand 1000 is above the 568 taxi vehicles in scope
    #                        'central'", the node's tier, not the run's
    scenario = load_scenario(path)
    net = scenario_network(scenario)
    (plan,) = prepare(net, scenario)
    assignment, at = point_tier(net, scenario.rules, _ALTAN_OFF_ROAD, access_legs=True)
    assert bool(net.central[at.node]) and at.km > 2.0
    assert plan.tier == assignment.tier == "banner"
    assert sum(c.requested for c in plan.classes) == 1000
    # the same demand at the node itself is central and refused, as it should be
    path.write_text(path.read_text("utf-8").replace(_ALTAN_OFF_ROAD, "altan xire"), "utf-8")
    code, _, err = _run(capsys, "validate", path)
    assert code == 2 and "in scope 'central'" in err


def test_item1_resolved_scenario_keeps_the_locations_settings_and_reruns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    # max_snap_km 3: the 3.1 km point gets an access leg, the 2.6 km point none; a resolved
    # file that lost either setting would refuse or move one of them.
    path = _off_road(
        tmp_path,
        f"""name: off-road-rerun
locations: {{max_snap_km: 3, access_legs: true}}
incidents:
  - name: leg
    location: "{_ALTAN_OFF_ROAD}"
    demand: {{taxi: 30, bus: 5}}
  - name: no leg
    location: "{_NODE53_OFF_ROAD}"
    demand: {{taxi: 30, bus: 5}}
""",
    )
    first, again = tmp_path / "first", tmp_path / "again"
    code, _, err = _run(capsys, "run", path, "--reps", 3, "--seed", 7, "--out", first,
                        "--no-figures", "-q")  # fmt: skip
    assert code == 0, err
    summary = json.loads((first / "summary.json").read_text("utf-8"))
    legs = [i["access_min"] for i in summary["incidents"]]
    assert legs[0] > 0 and legs[1] == 0
    resolved = first / "scenario.resolved.yaml"
    data = yaml.safe_load(resolved.read_text("utf-8"))
    # before: no `locations` key, so the rerun took the defaults (2 km, no access legs)
    assert data["locations"] == {"max_snap_km": 3.0, "access_legs": True}
    code, out, err = _run(capsys, "validate", resolved)
    assert code == 0, out + err
    code, _, err = _run(capsys, "run", resolved, "--out", again, "--no-figures", "-q")
    assert code == 0, err
    assert (again / "summary.json").read_bytes() == (first / "summary.json").read_bytes()
    assert (again / "incidents.csv").read_bytes() == (first / "incidents.csv").read_bytes()


def test_item1_snap_distance_in_summary_and_verdict_table(tmp_path, capsys) -> None:
    """The snap distance of a point 0.7 km off its node is in summary.json and gets a
    `snap km` column in the verdict table; with every point on a node there is no column."""
    text = """name: snapdemo
incidents:
  - name: near Kangbashi
    location: "39.60,109.78"
    demand: {taxi: 20}
  - name: Xuejiawan
    location: xuejiawan
    demand: {hazmat: 5}
replications: 5
"""
    path = tmp_path / "snap.yaml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "-q", "--no-figures", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    near = summary["incidents"][0]["snap_km"]["location"]
    assert 0.5 < near < 1.0 and summary["incidents"][1]["snap_km"]["location"] == 0
    header = next(line for line in table.splitlines() if line.startswith("incident"))
    assert "snap km" in header
    row = next(line for line in table.splitlines() if line.startswith("near Kangbashi"))
    assert f"{near:.1f}" in row.split()
    path.write_text(text.replace('"39.60,109.78"', "kangbashi"), encoding="utf-8")
    assert main(["run", str(path), "-q", "--no-figures"]) == 0
    assert "snap km" not in capsys.readouterr().out
