"""A regional-scale network end to end (issue 17): a ~200k-node PBF extract, imported, loaded,
routed and swept.

1. **extract**: :func:`benchmarks._synthetic.road_graph` of 447 x 447 nodes (blocks of about
   0.6 x 0.8 km) laid over Ordos (lat 38.10-40.56, lon 107.25-111.45: every embedded place lies
   on it), written as PBF with pyosmium (:func:`benchmarks._synthetic.write_pbf`);
2. **import**: ``fleetsim network import EXTRACT --clip ordos --out NET.graphml --no-cache``
   in a fresh process (stream the PBF, clip, clean, zone by the embedded rules, snap the
   embedded places, write GraphML), with its peak memory;
3. **load**: ``fleetsim network info --network NET.graphml`` cold (``FLEETSIM_NO_CACHE=1``),
   first (fills the cache) and cached, fresh processes;
4. **routing**: one incident's per-incident work in-process: a path tree to the staging node
   for each of the 5 classes (cache cleared), median of 5;
5. **sweep**: the reference sweep of ``bench_sweep`` (the region incident of ordos-123 scaled
   to 310 vehicles) on the import: ``fleetsim sweep --sites grid:20 --reps 100 --workers 2``,
   with the peak memory of the parent and of the largest worker.

Targets: import <= 3 min, peak memory <= 4 GB, sweep <= 2 min. ``--quick``: a 40,000-node
extract and 10 replications. Writes ``benchmarks/results/bench_pbf.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import REFERENCE_DEMAND, REGION_INCIDENT, REPO, machine, write_results
from benchmarks._synthetic import road_graph, write_pbf
from sim.netcache import CACHE_DIR_ENV, NO_CACHE_ENV

LAT0, LON0 = 38.10, 107.25
BLOCK_DEG, LON_BLOCK_DEG = 0.0055, 0.0094
TARGETS = {"import_s": 180.0, "peak_mib": 4096.0, "sweep_s": 120.0}


def _job(tmp: Path, env: dict[str, str], *args: str) -> tuple[dict[str, Any], str]:
    """Run ``fleetsim ARGS`` through ``benchmarks._job``: its report and stdout."""
    report = tmp / "job.json"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks._job", str(report), "--", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"fleetsim {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    data = json.loads(report.read_text())
    data["wall_s"] = wall
    data["peak_mib"] = data["parent_peak_rss_mib"] + data["max_worker_peak_rss_mib"]
    return data, done.stdout


def _routing_ms(net_path: Path, env: dict[str, str]) -> float:
    code = (
        "import json, statistics, time\n"
        "from sim.netload import load_network\n"
        f"net = load_network({str(net_path)!r})\n"
        "target = net.places.locate('38.33956,107.98782')\n"
        "times = []\n"
        "for _ in range(5):\n"
        "    net._trees.clear()\n"
        "    t = time.perf_counter()\n"
        "    for cls in net.classes:\n"
        "        net.tree_to(target, cls)\n"
        "    times.append(time.perf_counter() - t)\n"
        "print(json.dumps(statistics.median(times) * 1000))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def _scenario(path: Path, net: Path, reps: int) -> Path:
    demand = ", ".join(f"{k}: {v}" for k, v in REFERENCE_DEMAND.items())
    path.write_text(
        "# bench_pbf: the reference sweep's incident on the imported synthetic extract\n"
        f"extends: {REPO / 'scenarios' / 'ordos-123.yaml'}\n"
        "name: bench-pbf\n"
        f"network: {net}\n"
        f"replications: {reps}\n"
        "incidents:\n"
        f"  - name: {REGION_INCIDENT}\n"
        '    location: "38.33956,107.98782"\n'
        f"    demand: {{{demand}}}\n"
        "    scope: region\n",
        encoding="utf-8",
    )
    return path


def main(quick: bool = False) -> dict[str, Any]:
    """Run the benchmark, print the table, write the JSON; return the results.

    Parameters
    ----------
    quick
        A 40,000-node extract (blocks twice as long each way) and 10 replications.
    """
    nodes, reps = (40_000, 10) if quick else (200_000, 100)
    scale = 2.236 if quick else 1.0
    with tempfile.TemporaryDirectory(prefix="fleetsim-bench-pbf-") as tmpdir:
        tmp = Path(tmpdir)
        env = {**os.environ, CACHE_DIR_ENV: str(tmp / "cache")}
        env.pop(NO_CACHE_ENV, None)
        start = time.perf_counter()
        graph = road_graph(
            nodes,
            lat0=LAT0,
            lon0=LON0,
            block_deg=BLOCK_DEG * scale,
            lon_block_deg=LON_BLOCK_DEG * scale,
        )
        extract = write_pbf(graph, tmp / "synthetic-ordos.osm.pbf")
        raw_nodes, raw_edges = graph.number_of_nodes(), graph.number_of_edges()
        del graph
        generate_s = time.perf_counter() - start
        net = tmp / "ordos.graphml"
        imp, imp_out = _job(
            tmp, env, "network", "import", str(extract), "--clip", "ordos", "--out", str(net),
            "--no-cache",
        )  # fmt: skip
        info_args = ("network", "info", "--json", "--network", str(net))
        cold, info_text = _job(tmp, {**env, NO_CACHE_ENV: "1"}, *info_args)
        first, _ = _job(tmp, env, *info_args)
        cached = [_job(tmp, env, *info_args)[0] for _ in range(1 if quick else 3)]
        info = json.loads(info_text)
        routing_ms = _routing_ms(net, env)
        scenario = _scenario(tmp / "bench-pbf.yaml", net, reps)
        sweep, sweep_out = _job(
            tmp, env, "sweep", str(scenario), "--sites", "grid:20", "--reps", str(reps),
            "--workers", "2", "--json", "-q",
        )  # fmt: skip
        rows = json.loads(sweep_out)["rows"]
        extract_mb = extract.stat().st_size / 2**20
        graphml_mb = net.stat().st_size / 2**20
    cached_s = statistics.median(c["wall_s"] for c in cached)
    peak = max(j["peak_mib"] for j in (imp, cold, first, *cached, sweep))
    results = {
        "benchmark": "bench_pbf",
        **machine(),
        "extract": {
            "nodes": raw_nodes,
            "edges": raw_edges,
            "pbf_mb": extract_mb,
            "generate_s": generate_s,
        },
        "import": {
            "wall_s": imp["wall_s"],
            "peak_mib": imp["peak_mib"],
            "printed": imp_out.splitlines(),
            "graphml_mb": graphml_mb,
        },
        "network": {k: info[k] for k in ("nodes", "edges", "road_km", "central_nodes", "seats")},
        "nodes_per_zone": info["nodes_per_zone"],
        "load_cold_s": cold["wall_s"],
        "load_first_s": first["wall_s"],
        "load_cached_s": cached_s,
        "routing_5_classes_ms": routing_ms,
        "sweep": {
            "sites": len(rows),
            "sites_simulated": sum(r["note"] is None for r in rows),
            "reps": reps,
            "wall_s": sweep["wall_s"],
            "peak_mib": sweep["peak_mib"],
            "sites_holding": sum(r["p_met"] >= 0.95 for r in rows),
            "p_met_min": min((r["p_met"] for r in rows), default=None),
            "p_met_mean": statistics.fmean(r["p_met"] for r in rows) if rows else None,
        },
        "peak_mib": peak,
        "targets": TARGETS,
        "quick": quick,
    }
    print(
        f"extract: {raw_nodes:,} nodes, {raw_edges:,} edges, {extract_mb:.1f} MB PBF "
        f"(generated in {generate_s:.0f} s)"
    )
    print(
        f"import --clip ordos: {imp['wall_s']:.1f} s, peak {imp['peak_mib']:,.0f} MiB -> "
        f"{info['nodes']:,} nodes, {info['edges']:,} edges, {graphml_mb:.0f} MB GraphML"
    )
    print(
        f"load: cold {cold['wall_s']:.1f} s, first (fills the cache) {first['wall_s']:.1f} s, "
        f"cached {cached_s:.1f} s (fresh processes, end to end)"
    )
    print(f"one incident's routing (5 path trees): {routing_ms:.0f} ms")
    s = results["sweep"]
    print(
        f"sweep grid:20 x {reps} reps, 2 workers: {s['wall_s']:.1f} s, {s['sites']} sites "
        f"({s['sites_simulated']} simulated, {s['sites_holding']} holding), "
        f"peak {s['peak_mib']:,.0f} MiB"
    )
    print(
        f"peak memory of any step: {peak:,.0f} MiB; targets: import <= 180 s, peak <= 4096 MiB, "
        "sweep <= 120 s"
    )
    path = write_results("bench_pbf", results)
    print(f"wrote {path}")
    return results


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
