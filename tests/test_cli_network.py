"""The ``fleetsim network ...`` and ``fleetsim route`` commands, through ``sim.cli.main``.

Each command runs on the embedded default and on the three real extracts; one test runs the
installed ``fleetsim`` entry point in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main
from sim.netload import load_network
from sim.network import RoadNetwork
from sim.vehicles import DEFAULT_CLASSES

ROUTE_KEYS = {
    "from_node",
    "to_node",
    "from_label",
    "to_label",
    "vehicle",
    "travel_time_s",
    "length_m",
    "path",
}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _point(net: RoadNetwork, i: int) -> str:
    return f"{float(net.lat[i])!r},{float(net.lon[i])!r}"


# --------------------------------------------------------------------------------------------
# real extracts
# --------------------------------------------------------------------------------------------


def test_network_info_on_real_extracts(
    capsys: pytest.CaptureFixture[str], real_extract: Path, real_network: RoadNetwork
) -> None:
    code, out, err = _run(capsys, "network", "info", "--network", real_extract, "--json")
    assert code == 0 and err == ""
    info = json.loads(out)
    assert info["nodes"] == real_network.n_nodes and info["edges"] == real_network.n_edges
    assert info["dropped_nodes"] == real_network.dropped_nodes
    assert len(info["bbox"]) == 4 and info["road_km"] > 0
    code, out, _ = _run(capsys, "network", "info", "--network", real_extract)
    assert code == 0
    for label in ("nodes", "edges", "dropped", "bounding box", "road km", "nodes per zone"):
        assert label in out


def test_route_on_real_extracts(
    capsys: pytest.CaptureFixture[str], real_extract: Path, real_network: RoadNetwork
) -> None:
    net = real_network
    a, b = 0, net.n_nodes - 1
    argv = ["route", "--network", real_extract, "--from", _point(net, a), "--to", _point(net, b)]
    code, out, err = _run(capsys, *argv, "--vehicle", "bus", "--json")
    assert code == 0 and err == ""
    result = json.loads(out)
    assert set(result) == ROUTE_KEYS
    assert result["from_node"] == int(net.node_ids[a]) and result["to_node"] == int(net.node_ids[b])
    assert result["path"][0] == result["from_node"] and result["path"][-1] == result["to_node"]
    tree = net.tree_to(b, "bus")
    assert result["travel_time_s"] == pytest.approx(tree.time_s[a])
    assert result["length_m"] == pytest.approx(tree.length_m[a])
    assert result["path"] == net.node_ids[tree.path(a)].tolist()
    code, out, _ = _run(capsys, *argv, "--vehicle", "hazmat")
    assert code == 0 and " min, " in out and " km, " in out and "hops" in out


@pytest.mark.parametrize("suffix", [".graphml", ".gpkg"])
def test_export_on_real_extracts(
    capsys: pytest.CaptureFixture[str],
    real_extract: Path,
    real_network: RoadNetwork,
    tmp_path: Path,
    suffix: str,
) -> None:
    out_path = tmp_path / f"net{suffix}"
    code, out, err = _run(capsys, "network", "export", "--network", real_extract, out_path)
    assert code == 0 and err == "" and str(out_path) in out
    assert out_path.is_file() and out_path.stat().st_size > 0
    if suffix == ".graphml":
        again = load_network(out_path)
        assert again.n_nodes == real_network.n_nodes and again.n_edges == real_network.n_edges


def test_table_without_seats_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], shared_osm_dir: Path
) -> None:
    code, out, err = _run(
        capsys, "network", "table", "--network", shared_osm_dir / "munich-small.osm"
    )
    assert code == 2 and out == ""
    assert err.startswith("fleetsim: error: ") and "no seat nodes" in err


# --------------------------------------------------------------------------------------------
# the embedded default
# --------------------------------------------------------------------------------------------


def test_network_info_on_ordos(capsys: pytest.CaptureFixture[str], ordos: RoadNetwork) -> None:
    code, out, _ = _run(capsys, "network", "info", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["source"] == "ordos" and info["nodes"] == ordos.n_nodes
    assert info["nodes_per_zone"]["Kangbashi"] > 0
    code, out, _ = _run(capsys, "network", "info")
    assert code == 0 and "Otog Front" in out


def test_network_table_on_ordos(capsys: pytest.CaptureFixture[str], ordos: RoadNetwork) -> None:
    code, out, _ = _run(capsys, "network", "table", "--json")
    assert code == 0
    table = json.loads(out)
    assert table["to_node"] == int(ordos.node_ids[ordos.places.locate("Kangbashi")])
    assert table["classes"] == list(DEFAULT_CLASSES)
    rows = {row["seat"]: row for row in table["rows"]}
    assert len(rows) == 9
    assert rows["Kangbashi"]["taxi"] == {"minutes": 0.0, "km": 0.0}
    for row in rows.values():
        assert row["hazmat"]["minutes"] >= row["taxi"]["minutes"]
    code, out, _ = _run(capsys, "network", "table", "--to", "Aoleqi")
    assert code == 0 and "Aoleqi" in out.splitlines()[0]
    assert all(cls in out for cls in DEFAULT_CLASSES)


def test_route_on_ordos(capsys: pytest.CaptureFixture[str], ordos: RoadNetwork) -> None:
    code, out, _ = _run(
        capsys, "route", "--from", "Dongsheng", "--to", "Aoleqi", "--vehicle", "taxi", "--json"
    )
    assert code == 0
    result = json.loads(out)
    assert set(result) == ROUTE_KEYS and result["vehicle"] == "taxi"
    assert 2.5 * 3600 <= result["travel_time_s"] <= 4.5 * 3600
    code, out, _ = _run(
        capsys, "route", "--from", "Kangbashi", "--to", "Dongsheng", "--vehicle", "bus"
    )
    assert code == 0 and out.startswith("Kangbashi") and "hops" in out


# --------------------------------------------------------------------------------------------
# errors: message on stderr, exit status 2, never a traceback
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["route", "--from", "Kangbashy", "--to", "Aoleqi", "--vehicle", "taxi"], "Kangbashi"),
        (["route", "--from", "48.1,11.5", "--to", "Aoleqi", "--vehicle", "taxi"], "bounding box"),
        (["route", "--from", "Kangbashi", "--to", "Aoleqi", "--vehicle", "tank"], "'tank'"),
        (["network", "table", "--to", "Nowhere Town"], "unknown place 'Nowhere Town'"),
        (["network", "info", "--network", "roads.txt"], "roads.txt"),
        (["network", "info", "--network", "no/such/file.osm"], "no/such/file.osm"),
        (["network", "export", "out.shp"], ".graphml or .gpkg"),
    ],
)
def test_errors_exit_2_with_a_message(
    capsys: pytest.CaptureFixture[str], ordos: RoadNetwork, argv: list[str], needle: str
) -> None:
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("fleetsim: error: ") and needle in err
    assert "Traceback" not in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["network"], ["route", "--from", "A"], ["frobnicate"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    capsys.readouterr()


def test_installed_entry_point(shared_osm_dir: Path) -> None:
    script = Path(sys.executable).with_name("fleetsim")
    if not script.is_file():
        pytest.skip("the fleetsim console script is not installed next to this Python")
    extract = shared_osm_dir / "munich-small.osm"
    done = subprocess.run(
        [str(script), "network", "info", "--network", str(extract), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["nodes"] == load_network(extract).n_nodes
