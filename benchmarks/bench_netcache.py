"""Network load cold vs cached (issue 15): ``load_network(file)`` parsing the file, and reading
the on-disk cache (:mod:`sim.netcache`).

The source is the biggest OSM extract in ``../shared/data/osm`` when it is at least
:data:`BIG_MB` MB; the extracts there are small, so otherwise a synthetic OSM XML file
is written: a street grid of ``side x side`` nodes (``side = sqrt(nodes)``), one way per row
and column, every 10th a primary road, some streets one-way (deterministic). Each load runs in
a fresh process (no in-process state helps either side) with the cache in a temporary folder:

* **cold**: ``--no-cache``-equivalent load (``FLEETSIM_NO_CACHE=1``): parse, clean, build;
* **first**: an empty cache: a cold load plus writing the entry;
* **cached**: the entry read back, then the :class:`~sim.network.RoadNetwork` built from it.

Reported: the times, the entry's size and the ratio cold / cached. ``--quick``: 20,000 nodes
instead of 200,000. Writes ``benchmarks/results/bench_netcache.json``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import REPO, machine, write_results
from sim.netcache import CACHE_DIR_ENV, NO_CACHE_ENV

SHARED_OSM = REPO.parent / "shared" / "data" / "osm"
#: Size (MB) from which a shared extract is big enough to stand for a regional network.
BIG_MB = 20
SEED = 15

_LOAD = (
    "import json, sys, time\n"
    "t = time.perf_counter()\n"
    "from sim.netload import load_network\n"
    "net = load_network(sys.argv[1])\n"
    "print(json.dumps({'s': time.perf_counter() - t, 'nodes': net.n_nodes, "
    "'edges': net.n_edges}))\n"
)


def write_grid_osm(path: Path, nodes: int, seed: int = SEED) -> Path:
    """Write a synthetic OSM XML street grid of about ``nodes`` nodes; return ``path``."""
    side = round(math.sqrt(nodes))
    rng = np.random.default_rng(seed)
    step = 0.002  # degrees, ~200 m
    lat = 39.0 + np.repeat(np.arange(side), side) * step + rng.uniform(-3e-4, 3e-4, side * side)
    lon = 109.0 + np.tile(np.arange(side), side) * step + rng.uniform(-3e-4, 3e-4, side * side)
    with path.open("w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n')
        for k in range(side * side):
            fh.write(f'<node id="{k + 1}" lat="{lat[k]:.7f}" lon="{lon[k]:.7f}"/>\n')
        way = 1
        for axis in (0, 1):
            for i in range(side):
                ids = [(i * side + j if axis == 0 else j * side + i) + 1 for j in range(side)]
                highway = "primary" if i % 10 == 0 else "residential"
                fh.write(f'<way id="{way}">')
                fh.write("".join(f'<nd ref="{n}"/>' for n in ids))
                fh.write(f'<tag k="highway" v="{highway}"/>')
                if highway == "residential" and i % 7 == 3:
                    fh.write('<tag k="oneway" v="yes"/>')
                fh.write("</way>\n")
                way += 1
        fh.write("</osm>\n")
    return path


def _load(path: Path, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _LOAD, str(path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _source(work: Path, nodes: int) -> tuple[Path, str]:
    """The biggest shared extract when it is big (:data:`BIG_MB`), else a synthetic grid."""
    extracts = sorted(SHARED_OSM.glob("*.osm*"), key=lambda p: p.stat().st_size)
    if extracts and extracts[-1].stat().st_size >= BIG_MB * 2**20:
        return extracts[-1], f"{extracts[-1].name} (real extract)"
    path = write_grid_osm(work / "grid.osm", nodes)
    return path, f"synthetic grid of {round(math.sqrt(nodes)) ** 2:,} nodes (OSM XML)"


def main(quick: bool = False) -> dict[str, Any]:
    """Time cold, first and cached loads, print the table, write the JSON; return the results.

    Parameters
    ----------
    quick
        A 20,000-node synthetic grid instead of 200,000 nodes.
    """
    nodes = 20_000 if quick else 200_000
    with tempfile.TemporaryDirectory(prefix="fleetsim-bench-netcache-") as tmp:
        work = Path(tmp)
        source, label = _source(work, nodes)
        env = {**os.environ, CACHE_DIR_ENV: str(work / "cache")}
        env.pop(NO_CACHE_ENV, None)
        cold = _load(source, {**env, NO_CACHE_ENV: "1"})
        first = _load(source, env)
        cached = [_load(source, env) for _ in range(1 if quick else 3)]
        entries = list((work / "cache" / "networks").glob("*.pickle"))
        entry_mb = sum(e.stat().st_size for e in entries) / 2**20
        file_mb = source.stat().st_size / 2**20
    cached_s = float(np.median([c["s"] for c in cached]))
    results = {
        "benchmark": "bench_netcache",
        **machine(),
        "source": label,
        "file_mb": file_mb,
        "nodes": cold["nodes"],
        "edges": cold["edges"],
        "cold_s": cold["s"],
        "first_s": first["s"],
        "cached_s_median": cached_s,
        "cached_runs": len(cached),
        "entry_mb": entry_mb,
        "cold_over_cached": cold["s"] / cached_s,
    }
    print(
        f"{label}: {file_mb:.0f} MB, {results['nodes']:,} nodes, {results['edges']:,} edges "
        f"after cleaning; cache entry {entry_mb:.0f} MB"
    )
    print(f"load cold (no cache): {cold['s']:.1f} s; first (fills the cache): {first['s']:.1f} s")
    print(f"load cached: {cached_s:.2f} s (median of {len(cached)}, fresh processes)")
    print(f"ratio cold / cached: x{results['cold_over_cached']:.1f}")
    path = write_results("bench_netcache", results)
    print(f"wrote {path}")
    return results


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
