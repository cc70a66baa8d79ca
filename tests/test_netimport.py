"""``fleetsim network import`` (issue 17): clipping with a margin, zones from polygons, places
from points, atomic output, and a scenario naming the embedded places run on an import.

Extracts are street grids written as PBF by pyosmium in ``tmp_path``: every node is a crossing
of a row (``residential``) and a column (``primary``), ``SPACING`` degrees apart, so which
nodes and roads a clip must keep can be counted by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import osmium
import pytest

from sim.cli import main
from sim.errors import NetworkError, ValidationError
from sim.geo import haversine_m
from sim.netimport import Zoning, import_network, parse_clip
from sim.netload import load_network

LON0, LAT0, SPACING = 108.0, 39.0, 0.01


def write_grid(
    path: Path,
    cols: int,
    rows: int,
    *,
    lon0: float = LON0,
    lat0: float = LAT0,
    spacing: float = SPACING,
    row_class: dict[int, str] | None = None,
    stubs: list[tuple[float, float]] = (),
) -> Path:
    """A two-way grid of ``rows x cols`` crossings as PBF; node id ``r * cols + c + 1``.

    Each ``(lon, lat)`` of ``stubs`` is a node joined to its nearest crossing by a
    ``tertiary`` way (a town off the grid)."""
    row_class = row_class or {}
    with osmium.SimpleWriter(str(path), overwrite=True) as writer:
        for r in range(rows):
            for c in range(cols):
                location = (round(lon0 + spacing * c, 7), round(lat0 + spacing * r, 7))
                writer.add_node(osmium.osm.mutable.Node(id=r * cols + c + 1, location=location))
        way = 1
        for r in range(rows):
            nodes = [r * cols + c + 1 for c in range(cols)]
            tags = {"highway": row_class.get(r, "residential")}
            writer.add_way(osmium.osm.mutable.Way(id=way, nodes=nodes, tags=tags))
            way += 1
        for c in range(cols):
            nodes = [r * cols + c + 1 for r in range(rows)]
            writer.add_way(osmium.osm.mutable.Way(id=way, nodes=nodes, tags={"highway": "primary"}))
            way += 1
        for k, (lon, lat) in enumerate(stubs):
            node = rows * cols + k + 1
            writer.add_node(osmium.osm.mutable.Node(id=node, location=(lon, lat)))
            c = min(max(round((lon - lon0) / spacing), 0), cols - 1)
            r = min(max(round((lat - lat0) / spacing), 0), rows - 1)
            crossing = r * cols + c + 1
            writer.add_way(
                osmium.osm.mutable.Way(id=way, nodes=[node, crossing], tags={"highway": "tertiary"})
            )
            way += 1
    return path


def grid_km(cols: range, rows: range, skip_rows: set[int]) -> float:
    """Road km of the grid lines between the given columns and rows (each segment once)."""
    total = 0.0
    for r in rows:
        lat = LAT0 + SPACING * r
        if r not in skip_rows:
            for c in list(cols)[:-1]:
                total += haversine_m(lat, LON0 + SPACING * c, lat, LON0 + SPACING * (c + 1))
    for c in cols:
        lon = LON0 + SPACING * c
        for r in list(rows)[:-1]:
            total += haversine_m(LAT0 + SPACING * r, lon, LAT0 + SPACING * (r + 1), lon)
    return float(total) / 1000.0


def test_a_bbox_clip_keeps_exactly_the_drivable_roads_inside_plus_the_margin(
    tmp_path: Path,
) -> None:
    # 12 x 12 grid; row 5 is a footway, row 6 a service road (dropped by --highways drive)
    src = write_grid(tmp_path / "grid.osm.pbf", 12, 12, row_class={5: "footway", 6: "service"})
    bbox = f"{LON0 + 0.04},{LAT0 + 0.04},{LON0 + 0.07},{LAT0 + 0.07}"  # lines 4..7
    # a 1.2 km margin reaches the next grid line on every side (1.1 km N-S, 0.86 km E-W)
    # but not the one after it
    out = tmp_path / "clip.graphml"
    result = import_network(src, out, clip=parse_clip(bbox, margin_km=1.2))
    net = load_network(out)
    lines = range(3, 9)
    expected_nodes = {r * 12 + c + 1 for r in lines for c in lines if r not in (5, 6)}
    assert set(net.node_ids.tolist()) == expected_nodes  # row 5/6 crossings are simplified away
    assert net.info()["road_km"] == pytest.approx(grid_km(lines, lines, {5, 6}), abs=2e-3)
    assert result.network.info()["road_km"] == net.info()["road_km"]
    assert set(net.graph.edges[e]["highway"] for e in net.graph.edges) == {
        "residential",
        "primary",
    }
    # no margin: exactly lines 4..7; the service row comes back with --highways all
    bare = import_network(
        src, tmp_path / "bare.graphml", clip=parse_clip(bbox, margin_km=0), highways=None
    ).network
    inner = range(4, 8)
    assert bare.info()["road_km"] == pytest.approx(grid_km(inner, inner, {5}), abs=2e-3)


def test_a_polygon_clip_keeps_the_nodes_inside_the_widened_polygon(tmp_path: Path) -> None:
    src = write_grid(tmp_path / "grid.osm.pbf", 10, 10)
    polygon = tmp_path / "area.geojson"
    ring = [[108.015, 39.015], [108.065, 39.015], [108.065, 39.065], [108.015, 39.065]]
    polygon.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
                    }
                ],
            }
        )
    )
    net = import_network(
        src, tmp_path / "p.graphml", clip=parse_clip(str(polygon), margin_km=0.3)
    ).network
    lines = range(2, 7)  # 0.3 km (<= 0.55 km to the next line outside) keeps lines 2..6
    assert set(net.node_ids.tolist()) == {r * 10 + c + 1 for r in lines for c in lines}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("108,39,109", r"expected a bounding box W,S,E,N"),
        ("108,39,a,40", r"must be numbers"),
        ("109,39,108,40", r"west 109 must be less than east 108"),
        ("108,40,109,39", r"south 40 must be less than north 39"),
        ("108,39,200,40", r"east 200 is not a longitude"),
        ("108,-95,109,40", r"south -95 is not a latitude"),
        ("108,39,inf,40", r"must be finite"),
    ],
)
def test_a_bad_bbox_names_the_value_and_the_rule(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        parse_clip(text)
    assert repr(text) in str(info.value)


def test_bad_polygon_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match=r"not found: .*missing\.geojson"):
        parse_clip(str(tmp_path / "missing.geojson"))
    points = tmp_path / "points.geojson"
    points.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
        '"geometry": {"type": "Point", "coordinates": [108, 39]}}]}'
    )
    with pytest.raises(NetworkError, match=r"points\.geojson holds no Polygon"):
        parse_clip(str(points))
    garbage = tmp_path / "garbage.geojson"
    garbage.write_text("{ not json")
    with pytest.raises(NetworkError, match=r"cannot read clip polygons from .*garbage"):
        parse_clip(str(garbage))
    with pytest.raises(ValidationError, match=r"--margin-km"):
        parse_clip("108,39,109,40", margin_km=-1)


def test_the_output_is_written_atomically(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_grid(tmp_path / "grid.osm.pbf", 4, 4)
    out = tmp_path / "net.graphml"
    out.write_text("the previous file")
    # a clip with no road inside: an error naming the source; the old file is untouched
    code = main(["network", "import", str(src), "--out", str(out), "--clip", "0,0,1,1"])
    assert code != 0
    assert "no drivable road" in capsys.readouterr().err
    assert out.read_text() == "the previous file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.osm.pbf", "net.graphml"]
    with pytest.raises(ValidationError, match=r"must end \.graphml"):
        import_network(src, tmp_path / "net.gpkg")
    assert main(["network", "import", str(src), "--out", str(out)]) == 0
    assert load_network(out).n_nodes == 16
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.osm.pbf", "net.graphml"]


def feature(name: str, west: float, south: float, east: float, north: float) -> dict:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "type": "Feature",
        "properties": {"banner": name},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def test_every_node_takes_the_zone_of_the_polygon_that_contains_it(tmp_path: Path) -> None:
    src = write_grid(tmp_path / "grid.osm.pbf", 10, 10)
    zones = tmp_path / "banners.geojson"
    # West and East halves of rows 0..6 (split between columns 4 and 5); rows 7..9 uncovered;
    # a triangle-free L-shape is not needed: the split is between grid lines on purpose
    features = [
        feature("West", 107.9, 38.9, LON0 + 0.045, LAT0 + 0.065),
        feature("East", LON0 + 0.045, 38.9, 108.2, LAT0 + 0.065),
    ]
    zones.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    central = tmp_path / "central.geojson"
    central.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [feature("c", LON0 + 0.015, LAT0 + 0.015, LON0 + 0.035, LAT0 + 0.035)],
            }
        )
    )
    out = tmp_path / "zoned.graphml"
    import_network(
        src, out, zoning=Zoning(zones=str(zones), zone_field="banner", central=str(central))
    )
    net = load_network(out)
    for i in range(net.n_nodes):
        lon, lat = float(net.lon[i]), float(net.lat[i])
        inside = lat < LAT0 + 0.065
        expected = ("West" if lon < LON0 + 0.045 else "East") if inside else "outside"
        assert net.zone[i] == expected, (lon, lat)
        in_central = LON0 + 0.015 < lon < LON0 + 0.035 and LAT0 + 0.015 < lat < LAT0 + 0.035
        assert bool(net.central[i]) == in_central
    assert net.info()["nodes_per_zone"] == {"East": 35, "West": 35, "outside": 30}
    assert int(net.central.sum()) == 4
    with pytest.raises(NetworkError, match=r"no field 'name' \(its fields: banner\)"):
        import_network(src, tmp_path / "x.graphml", zoning=Zoning(zones=str(zones)))


def test_places_from_a_csv_snap_with_their_distances(tmp_path: Path) -> None:
    src = write_grid(tmp_path / "grid.osm.pbf", 6, 6)
    csv = tmp_path / "places.csv"
    csv.write_text(
        "id,name_en,name_zh,kind,banner,lat,lon\n"
        f"alpha,Alpha,甲,banner_seat,West,{LAT0 + 0.0101},{LON0 + 0.0199}\n"
        f"beta,Beta,,town,East,{LAT0 + 0.04},{LON0 + 0.05}\n"
        f"far,Far away,,town,East,{LAT0 + 1},{LON0 + 1}\n",
        encoding="utf-8",
    )
    out = tmp_path / "placed.graphml"
    result = import_network(src, out, zoning=Zoning(places=str(csv)))
    km = {p.point.name: p.km for p in result.placed}
    assert km["Alpha"] == pytest.approx(
        haversine_m(LAT0 + 0.0101, LON0 + 0.0199, LAT0 + 0.01, LON0 + 0.02) / 1000, rel=1e-6
    )
    assert km["Beta"] == pytest.approx(0.0, abs=1e-6)
    assert [p.node is None for p in result.placed] == [False, False, True]
    net = load_network(out)
    alpha = net.places.locate("alpha")
    assert net.places.locate("甲") == alpha == net.places.locate("Alpha")
    assert int(net.node_ids[alpha]) == 1 * 6 + 2 + 1
    assert net.seats.tolist() == [alpha]
    assert net.zone[alpha] == "West"
    with pytest.raises(NetworkError, match=r"no 'lat' column"):
        bad = tmp_path / "bad.csv"
        bad.write_text("name,lon\nx,1\n")
        import_network(src, tmp_path / "y.graphml", zoning=Zoning(places=str(bad)))


def test_the_ordos_centres_are_those_of_the_zone_rules() -> None:
    yaml = pytest.importorskip("yaml")
    from sim.netimport import ORDOS_CENTRES

    path = Path(__file__).resolve().parents[1] / "data" / "ordos" / "zones.yaml"
    centres = yaml.safe_load(path.read_text(encoding="utf-8"))["central"]["centres"]
    assert tuple((c["place"], float(c["radius_km"])) for c in centres) == ORDOS_CENTRES


def test_ordos_123_runs_unchanged_on_an_imported_ordos_extract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A synthetic extract covering Ordos (a 5 km grid, and a road to each embedded place
    100 m off it), imported with ``--clip ordos``: the embedded places snap onto it with their
    distances, zones and the central area follow the embedded rules, and the built-in scenario
    (which names places and seats) runs on it."""
    step = 0.05
    cols, rows = round(5.2 / step), round(3.6 / step)
    ordos = load_network("ordos")
    towns = [
        (float(ordos.lon[i]), float(ordos.lat[i]) + 0.0009) for i, _, _ in ordos.places.entries()
    ]
    src = write_grid(
        tmp_path / "ordos-grid.osm.pbf",
        cols,
        rows,
        lon0=106.5,
        lat0=37.5,
        spacing=step,
        stubs=towns,
    )
    out = tmp_path / "ordos.graphml"
    code = main(["network", "import", str(src), "--out", str(out), "--clip", "ordos"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "zones: the nearest node of the embedded Ordos network" in printed
    # the anchors outside Ordos lie beyond the clip (and its 10 km margin): not placed
    assert "places: 18 of 23 snapped to a road node (median 0.10 km, max 0.10 km)" in printed
    assert "not placed: Hohhot (40.81056,111.65222) is 31.7 km from" in printed
    net = load_network(out)
    assert set(net.zone.tolist()) == set(ordos.zone.tolist())
    for place in ("kangbashi", "xuejiawan", "dongsheng", "altan_xire", "aoleqi"):
        i, j = net.places.locate(place), ordos.places.locate(place)
        km = haversine_m(net.lat[i], net.lon[i], ordos.lat[j], ordos.lon[j]) / 1000
        assert km == pytest.approx(0.1, abs=0.001)
        assert net.zone[i] == ordos.zone[j]
    assert len(net.seats) == len(ordos.seats)
    assert bool(net.central[net.places.locate("kangbashi")])
    assert not bool(net.central[net.places.locate("xuejiawan")])
    scenario = tmp_path / "on-import.yaml"
    builtin = Path(__file__).resolve().parents[1] / "scenarios" / "ordos-123.yaml"
    scenario.write_text(f"extends: {builtin}\nnetwork: {out}\nreplications: 20\n")
    assert main(["run", str(scenario), "--quiet", "--json"]) == 0
    rows_out = json.loads(capsys.readouterr().out)
    text = json.dumps(rows_out)
    for name in ("Kangbashi (central)", "Xuejiawan hazmat (banner)"):
        assert name in text
    assert np.isfinite(net.lat).all()
