"""``.osm.pbf`` extracts (issue 17): read with pyosmium, equal to the OSM XML of the same data.

The PBF files are written here, in ``tmp_path``, by pyosmium from the shared OSM samples (so
the tests skip when ``../shared`` is absent) and from a generated grid.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import osmium
import pytest

from sim import netcache
from sim.cli import main
from sim.errors import NetworkError
from sim.netload import load_network
from sim.network import RoadNetwork


def to_pbf(src: Path, dst: Path) -> Path:
    """Copy every object of an OSM file into a PBF file with pyosmium."""
    with osmium.SimpleWriter(str(dst), overwrite=True) as writer:
        for obj in osmium.FileProcessor(str(src)):
            writer.add(obj)
    return dst


def edge_times(net: RoadNetwork) -> list[tuple]:
    """Every edge as (u id, v id, length, highway, and its time per class), sorted."""
    rows = []
    for u, v, data in net.graph.edges(data=True):
        times = tuple(round(data[f"travel_time_{c}"], 9) for c in net.classes)
        rows.append((u, v, round(data["length"], 6), data["highway"], *times))
    return sorted(rows)


def info_json(capsys: pytest.CaptureFixture[str], source: Path) -> dict:
    assert main(["network", "info", "--json", "--no-cache", "--network", str(source)]) == 0
    info = json.loads(capsys.readouterr().out)
    info.pop("source")
    return info


def test_pbf_equals_the_xml_of_the_same_data(
    real_extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pbf = to_pbf(real_extract, tmp_path / (real_extract.name.split(".")[0] + ".osm.pbf"))
    from_xml = info_json(capsys, real_extract)
    from_pbf = info_json(capsys, pbf)
    assert from_pbf == from_xml  # nodes, edges, dropped, non-road edges, bbox, zones, road km
    a = load_network(real_extract)
    b = load_network(pbf)
    assert edge_times(a) == edge_times(b)
    np.testing.assert_array_equal(a.node_ids, b.node_ids)
    for vehicle in a.classes:
        np.testing.assert_array_equal(a.times_to([0], vehicle), b.times_to([0], vehicle))
    # the text form too, but for the source line
    assert main(["network", "info", "--network", str(real_extract)]) == 0
    text_xml = capsys.readouterr().out.splitlines()[1:]
    assert main(["network", "info", "--network", str(pbf)]) == 0
    text_pbf = capsys.readouterr().out.splitlines()
    assert text_pbf[0].split()[-1] == str(pbf)
    assert text_pbf[1:] == text_xml


def test_the_network_cache_serves_pbf_files(
    real_extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(netcache.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(netcache.NO_CACHE_ENV, raising=False)
    pbf = to_pbf(real_extract, tmp_path / "x.osm.pbf")
    builds, hits = netcache.stats.builds, netcache.stats.hits
    first = load_network(pbf)
    assert (netcache.stats.builds, netcache.stats.hits) == (builds + 1, hits)
    second = load_network(pbf)
    assert (netcache.stats.builds, netcache.stats.hits) == (builds + 1, hits + 1)
    assert edge_times(first) == edge_times(second)
    assert first.info() == second.info()
    # the PBF's entry is its own (keyed by its bytes and reader), not the XML's
    xml = load_network(real_extract)
    assert netcache.stats.builds == builds + 2
    assert xml.info()["nodes"] == first.info()["nodes"]


def write_grid_pbf(path: Path, side: int = 6, *, footway_row: int | None = None) -> Path:
    """A two-way street grid (nodes 1..side*side, ~0.01 degree apart) written as PBF."""
    with osmium.SimpleWriter(str(path), overwrite=True) as writer:
        for i in range(side):
            for j in range(side):
                writer.add_node(
                    osmium.osm.mutable.Node(
                        id=i * side + j + 1, location=(108.0 + 0.01 * j, 39.0 + 0.01 * i)
                    )
                )
        way = 1
        for i in range(side):  # rows, then columns
            highway = "footway" if i == footway_row else "residential"
            nodes = [i * side + j + 1 for j in range(side)]
            writer.add_way(osmium.osm.mutable.Way(id=way, nodes=nodes, tags={"highway": highway}))
            way += 1
        for j in range(side):
            nodes = [i * side + j + 1 for i in range(side)]
            writer.add_way(osmium.osm.mutable.Way(id=way, nodes=nodes, tags={"highway": "primary"}))
            way += 1
        writer.add_way(  # a building: not a road, counted as non-road edges as OSMnx would
            osmium.osm.mutable.Way(id=way, nodes=[1, 2, side + 2, 1], tags={"building": "yes"})
        )
    return path


def test_a_generated_pbf_loads_with_its_non_road_edges_counted(tmp_path: Path) -> None:
    net = load_network(write_grid_pbf(tmp_path / "grid.osm.pbf", side=5))
    info = net.info()
    assert info["nodes"] == 25
    assert info["edges"] == 2 * 2 * 5 * 4  # rows and columns, 4 segments each, both ways
    assert info["non_road_edges"] == 3 * 2  # the building's 3 segments, both ways


@pytest.mark.parametrize("content", [b"", b"not a pbf file at all"])
def test_an_unreadable_pbf_is_a_network_error_naming_the_file(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "broken.osm.pbf"
    path.write_bytes(content)
    with pytest.raises(NetworkError, match=r"broken\.osm\.pbf"):
        load_network(path)


def test_a_pbf_without_roads_says_so(tmp_path: Path) -> None:
    path = tmp_path / "empty.osm.pbf"
    with osmium.SimpleWriter(str(path), overwrite=True) as writer:
        writer.add_node(osmium.osm.mutable.Node(id=1, location=(108.0, 39.0)))
    with pytest.raises(NetworkError, match=r"no drivable road"):
        load_network(path)
