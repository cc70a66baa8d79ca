"""Shared fixtures: the embedded Ordos network and the real OSM extracts in ``../shared``.

The real extracts live next to the repository (``<repo>/../shared/data/osm``) and are not
copied into it; tests that need them skip cleanly when that directory is absent.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

import pytest

from sim.netcache import CACHE_DIR_ENV
from sim.netload import load_network
from sim.network import RoadNetwork

REPO = Path(__file__).resolve().parents[1]
SHARED_OSM_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "osm"
REAL_EXTRACTS = ("west-oakland.osm.bz2", "aguascalientes.osm.bz2", "munich-small.osm")

_networks: dict[str, RoadNetwork] = {}
_CACHE_DIRS: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Point the on-disk network cache at a fresh folder for the session (subprocesses
    inherit it), so tests never read or write the user's ``~/.cache/fleetsim``."""
    path = tempfile.mkdtemp(prefix="fleetsim-test-cache-")
    _CACHE_DIRS.append(path)
    os.environ[CACHE_DIR_ENV] = path


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's network cache folder."""
    for path in _CACHE_DIRS:
        shutil.rmtree(path, ignore_errors=True)


def _cached(source: str) -> RoadNetwork:
    if source not in _networks:
        _networks[source] = load_network(source)
    return _networks[source]


@pytest.fixture(scope="session")
def shared_osm_dir() -> Path:
    """The directory of real OSM extracts, ``<repo>/../shared/data/osm`` (skip if absent)."""
    if not SHARED_OSM_DIR.is_dir():
        pytest.skip(f"real OSM extracts not available ({SHARED_OSM_DIR} is absent)")
    return SHARED_OSM_DIR


@pytest.fixture(scope="session", params=REAL_EXTRACTS)
def real_extract(request: pytest.FixtureRequest, shared_osm_dir: Path) -> Path:
    """Path of each real extract in turn (skip when missing)."""
    path = shared_osm_dir / request.param
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="session")
def real_network(real_extract: Path) -> RoadNetwork:
    """Each real extract loaded once per session."""
    return _cached(str(real_extract))


@pytest.fixture(scope="session")
def ordos() -> RoadNetwork:
    """The embedded default network (skip while ``sim/data/ordos.osm`` is not generated)."""
    if not resources.files("sim").joinpath("data", "ordos.osm").is_file():
        pytest.skip("sim/data/ordos.osm has not been generated yet")
    return _cached("ordos")


@pytest.fixture(scope="session", params=["ordos", *REAL_EXTRACTS])
def any_network(request: pytest.FixtureRequest) -> RoadNetwork:
    """The default network and every real extract, each in turn."""
    if request.param == "ordos":
        return request.getfixturevalue("ordos")
    if not SHARED_OSM_DIR.is_dir():
        pytest.skip(f"real OSM extracts not available ({SHARED_OSM_DIR} is absent)")
    path = SHARED_OSM_DIR / request.param
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return _cached(str(path))
