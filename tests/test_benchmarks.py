"""The benchmarks run: ``make bench`` is not part of ``make test``, so a benchmark whose code
rotted went unseen (``bench_sweep``'s straightforward baseline drew its replications without
the vehicles' identity keys and stopped with an AttributeError on every ``make bench`` since
the draws were keyed by vehicle). A small run of each piece that is not run elsewhere."""

from __future__ import annotations

import math

from benchmarks.bench_sweep import bench_baseline


def test_the_straightforward_baseline_runs_beside_the_project() -> None:
    r = bench_baseline(runs=1, n_sites=2, reps=3)
    assert r["sites"] == 2 and r["replications_per_site"] == 3
    assert r["vehicles_routed"] > 0 and r["routing_ratio"] > 0
    assert math.isfinite(r["model_ratio_vs_auto"]) and r["model_ratio_vs_auto"] > 0
    for row in r["statistics"]:
        assert 0.0 <= row["baseline_p_met"] <= 1.0 and 0.0 <= row["project_p_met"] <= 1.0
