"""The on-disk network cache (:mod:`sim.netcache`) and the start-up import discipline.

Every test points the cache at its own ``tmp_path`` (the session default, set in
``conftest.py``, is a temporary folder too). "Not re-parsed" is read from the cache's own
counter of builds (:data:`sim.netcache.stats`), which counts calls of the function that
parses the file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

from sim import netcache
from sim.cli import main
from sim.netload import load_network
from sim.network import RoadNetwork
from sim.results import wilson_interval

REPO = Path(__file__).resolve().parents[1]
ORDOS_OSM = resources.files("sim").joinpath("data", "ordos.osm")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty cache folder for this test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(netcache.CACHE_DIR_ENV, str(folder))
    monkeypatch.delenv(netcache.NO_CACHE_ENV, raising=False)
    return folder


@pytest.fixture
def osm_file(tmp_path: Path) -> Path:
    """A copy of the embedded Ordos OSM file, as a user's extract."""
    path = tmp_path / "extract.osm"
    path.write_bytes(ORDOS_OSM.read_bytes())
    return path


def _entries(cache: Path) -> list[Path]:
    folder = cache / "networks"
    return sorted(folder.glob("*.pickle")) if folder.is_dir() else []


def _builds() -> int:
    return netcache.stats.builds


def assert_same_network(a: RoadNetwork, b: RoadNetwork) -> None:
    """Nodes, edges, their attributes, the arrays and the places are all equal."""
    assert list(a.graph.nodes(data=True)) == list(b.graph.nodes(data=True))
    assert list(a.graph.edges(keys=True, data=True)) == list(b.graph.edges(keys=True, data=True))
    for name in ("node_ids", "lat", "lon", "zone", "central", "seats"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.places.entries() == b.places.entries()
    assert a.places.names == b.places.names
    assert a.info() == b.info()
    targets = [0, a.n_nodes - 1]
    for vehicle in a.classes:
        np.testing.assert_array_equal(a.times_to(targets, vehicle), b.times_to(targets, vehicle))


def test_second_load_is_equal_and_does_not_parse_again(cache: Path, osm_file: Path) -> None:
    builds = _builds()
    first = load_network(osm_file)
    assert _builds() == builds + 1
    assert len(_entries(cache)) == 1
    second = load_network(osm_file)
    assert _builds() == builds + 1, "the second load parsed the file again"
    assert second is not first
    assert_same_network(first, second)
    assert not second.node_ids.flags.writeable  # arrays are read-only, as when built


def test_the_embedded_network_is_cached_too(cache: Path) -> None:
    builds = _builds()
    first = load_network("ordos")
    second = load_network("ordos")
    assert _builds() == builds + 1
    assert_same_network(first, second)
    assert second.source == "ordos"


def test_the_same_bytes_at_another_path_hit_and_take_the_new_label(
    cache: Path, osm_file: Path, tmp_path: Path
) -> None:
    load_network(osm_file)
    other = tmp_path / "renamed.osm"
    other.write_bytes(osm_file.read_bytes())
    builds = _builds()
    net = load_network(other)
    assert _builds() == builds
    assert net.source == str(other)
    assert net.places.source == str(other)
    assert net.info()["source"] == str(other)


def test_editing_the_file_invalidates(cache: Path, osm_file: Path) -> None:
    first = load_network(osm_file)
    name = first.places.name_of(int(first.seats[0]))
    assert name
    text = osm_file.read_text(encoding="utf-8")
    assert text.count(f'v="{name}"') >= 1
    osm_file.write_text(text.replace(f'v="{name}"', 'v="Renamed Seat"', 1), encoding="utf-8")
    builds = _builds()
    second = load_network(osm_file)
    assert _builds() == builds + 1
    assert "Renamed Seat" in second.places.names
    assert "Renamed Seat" not in first.places.names
    assert len(_entries(cache)) == 2


def test_bypassed_neither_reads_nor_writes(cache: Path, osm_file: Path) -> None:
    with netcache.bypassed():
        builds = _builds()
        load_network(osm_file)
        load_network(osm_file)
        assert _builds() == builds + 2
    assert _entries(cache) == []


def test_the_environment_variable_turns_it_off(
    cache: Path, osm_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(netcache.NO_CACHE_ENV, "1")
    assert not netcache.enabled()
    load_network(osm_file)
    assert _entries(cache) == []


def test_no_cache_option_of_the_cli_bypasses(
    cache: Path, osm_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    info = ["network", "info", "--network", str(osm_file), "--json"]
    assert main([*info, "--no-cache"]) == 0
    uncached = json.loads(capsys.readouterr().out)
    assert _entries(cache) == []
    assert netcache.enabled()  # only for that command
    builds = _builds()
    assert main(info) == 0
    assert main(info) == 0
    assert _builds() == builds + 1
    assert len(_entries(cache)) == 1
    assert json.loads(capsys.readouterr().out.split("\n}\n")[1] + "\n}") == uncached
    for command in ("run", "sweep", "compare", "sensitivity", "validate", "check", "route"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--no-cache" in capsys.readouterr().out, command


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-100],  # truncated
        lambda data: data[:-50] + bytes(b ^ 0xFF for b in data[-50:]),  # payload bytes flipped
        lambda data: b"garbage",  # not a cache file
        lambda data: b"",  # empty
    ],
    ids=["truncated", "flipped", "garbage", "empty"],
)
def test_a_corrupted_entry_is_rebuilt_with_a_note(
    cache: Path, osm_file: Path, capsys: pytest.CaptureFixture[str], damage
) -> None:
    first = load_network(osm_file)
    (entry,) = _entries(cache)
    entry.write_bytes(damage(entry.read_bytes()))
    builds, rebuilt = _builds(), netcache.stats.rebuilt
    second = load_network(osm_file)
    assert _builds() == builds + 1
    assert netcache.stats.rebuilt == rebuilt + 1
    assert "network cache entry" in capsys.readouterr().err
    assert_same_network(first, second)
    load_network(osm_file)  # the rebuilt entry is good again
    assert _builds() == builds + 1


def test_a_foreign_entry_is_not_trusted(
    cache: Path, osm_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An entry of another file (valid in itself) copied over this file's entry is rebuilt."""
    load_network(osm_file)
    (entry,) = _entries(cache)
    other = tmp_path / "other.osm"
    other.write_text(osm_file.read_text(encoding="utf-8") + "\n<!-- another file -->\n")
    other_entry = netcache.entry_path(other, {"reader": "_read_osm_xml"})
    assert other_entry != entry
    other_entry.parent.mkdir(parents=True, exist_ok=True)
    other_entry.write_bytes(entry.read_bytes())
    builds = _builds()
    net = load_network(other)
    assert _builds() == builds + 1
    assert "foreign" in capsys.readouterr().err
    assert net.source == str(other)


def test_an_unwritable_cache_costs_a_note_not_the_load(
    tmp_path: Path, osm_file: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(netcache.CACHE_DIR_ENV, str(blocker))
    net = load_network(osm_file)
    assert net.n_nodes > 0
    assert "cannot write the network cache" in capsys.readouterr().err


def test_cache_location_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(netcache.CACHE_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert netcache.cache_dir() == tmp_path / "xdg" / "fleetsim"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert netcache.cache_dir() == tmp_path / "home" / ".cache" / "fleetsim"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # ignored, as the XDG spec says
    assert netcache.cache_dir() == tmp_path / "home" / ".cache" / "fleetsim"
    monkeypatch.setenv(netcache.CACHE_DIR_ENV, str(tmp_path / "mine"))
    assert netcache.cache_dir() == tmp_path / "mine"


def test_the_key_holds_the_loader_fingerprint(cache: Path, osm_file: Path) -> None:
    """The header of an entry names the content hash and the loader fingerprint."""
    load_network(osm_file)
    (entry,) = _entries(cache)
    with entry.open("rb") as fh:
        fh.readline()
        header = json.loads(fh.readline())
    assert header["key"]["content_sha256"] == netcache.file_sha256(osm_file)
    assert header["key"]["loader"] == netcache.loader_fingerprint()
    assert header["key"]["options"] == {"reader": "_read_osm_xml"}


def test_a_real_extract_round_trips(cache: Path, real_extract: Path) -> None:
    builds = _builds()
    first = load_network(real_extract)
    second = load_network(real_extract)
    assert _builds() == builds + 1
    assert_same_network(first, second)


def test_wilson_interval_is_scipys_to_the_bit() -> None:
    rng = np.random.default_rng(15)
    for n in [*range(1, 40), *rng.integers(40, 100_000, 60).tolist()]:
        for k in {0, n, *rng.integers(0, n + 1, 4).tolist()}:
            for confidence in (0.95, 0.9, 0.99):
                ci = binomtest(int(k), int(n)).proportion_ci(confidence, method="wilson")
                assert wilson_interval(int(k), int(n), confidence) == (ci.low, ci.high)


_HEAVY = ("osmnx", "osmium", "geopandas", "matplotlib", "pandas", "plotly", "scipy.stats", "SALib")


def _modules_after(code: str, env: dict[str, str]) -> set[str]:
    probe = (
        f"import sys\n{code}\n"
        f"print(repr(sorted(m for m in {_HEAVY!r} if m in sys.modules)), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    return set(eval(done.stderr.strip().splitlines()[-1]))  # a list of module names


def test_start_up_imports_only_what_the_command_uses(cache: Path) -> None:
    """Parsing any command, and a run of the built-in scenario without --out from a warm
    network cache, import none of OSMnx, pyosmium, geopandas, matplotlib, pandas, plotly,
    scipy.stats."""
    env = {**os.environ, netcache.CACHE_DIR_ENV: str(cache)}
    parse = (
        "import sim.cli\ntry:\n    sim.cli.main(['run', '--help'])\nexcept SystemExit:\n    pass"
    )
    assert _modules_after(parse, env) == set()
    load_network("ordos")  # warm this test's cache (the cold load needs OSMnx, of course)
    run = (
        "import contextlib, io\nimport sim.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert sim.cli.main(['run', 'ordos-123', '--reps', '2', '--quiet']) == 0"
    )
    assert _modules_after(run, env) == set()
