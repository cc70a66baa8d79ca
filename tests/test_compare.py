"""Compare: common random numbers, paired differences, exactly zero for identical variants."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import numpy as np
import pytest

from sim.builtin import ordos_123
from sim.cli import main
from sim.comparison import compare, comparison_table, paired_difference

REPS = 16


@pytest.fixture(scope="module")
def scenario():
    return ordos_123(replications=REPS)


def _assert_all_zero(rows):
    assert rows
    for r in rows:
        assert r["delta_p_met"] == 0.0
        assert r["delta_p_met_ci95"] == [0.0, 0.0]
        assert r["delta_p90"] == 0.0
        assert r["delta_p90_ci95"] == [0.0, 0.0]
        assert r["p_met_a"] == r["p_met_b"] and r["p90_a"] == r["p90_b"]


def test_a_scenario_against_itself_is_exactly_zero(ordos, scenario):
    c = compare(scenario, scenario, network=ordos)
    assert [r["name"] for r in c.incidents] == [i.name for i in scenario.incidents]
    assert c.only_in_a == [] and c.only_in_b == []
    _assert_all_zero(c.incidents)
    text = comparison_table(c)
    assert "-0.0" not in text and "+0.000" in text


def test_common_random_numbers_survive_a_renamed_copy(ordos, scenario):
    renamed = dataclasses.replace(scenario, name="a copy")
    _assert_all_zero(compare(scenario, renamed, network=ordos).incidents)


def test_a_slower_variant_is_paired_and_incidents_are_matched_by_name(ordos, scenario):
    slow = dataclasses.replace(
        scenario,
        name="slow",
        speed_factor=0.7,
        incidents=(scenario.incidents[2], scenario.incidents[0]),
    )
    c = compare(scenario, slow, network=ordos)
    assert [r["name"] for r in c.incidents] == [
        scenario.incidents[0].name,
        scenario.incidents[2].name,
    ]
    assert c.only_in_a == [scenario.incidents[1].name] and c.only_in_b == []
    far = c.incidents[1]  # Otog Front: long trips, so slower roads must cost minutes
    assert far["delta_p90"] > 0
    lo, hi = far["delta_p90_ci95"]
    assert 0 < lo <= hi
    for r in c.incidents:
        lo, hi = r["delta_p_met_ci95"]
        assert -1 <= lo <= r["delta_p_met"] <= hi <= 1
        assert r["delta_p_met"] <= 0  # slower is never better, replication by replication
    assert "only in A: Xuejiawan hazmat (banner)" in comparison_table(c)


def test_paired_difference_of_indicators():
    a = np.array([1, 1, 0, 0, 1, 0, 1, 1], bool)
    b = np.array([1, 0, 0, 1, 0, 0, 0, 1], bool)
    times = np.arange(8.0)
    r = paired_difference("x", a, b, times, times, seed=1)
    d = b.astype(float) - a.astype(float)
    half = 1.959963984540054 * d.std(ddof=1) / math.sqrt(d.size)
    assert r["delta_p_met"] == pytest.approx(d.mean())
    assert r["delta_p_met_ci95"] == [
        pytest.approx(d.mean() - half, abs=1e-4),
        pytest.approx(d.mean() + half, abs=1e-4),
    ]
    assert r["delta_p90"] == 0.0 and r["delta_p90_ci95"] == [0.0, 0.0]


def test_paired_bootstrap_is_seeded_and_brackets_a_shift():
    rng = np.random.default_rng(5)
    a = rng.lognormal(4, 0.2, 200)
    b = a + 7.0  # every replication 7 minutes later
    met = np.ones(200, bool)
    r1 = paired_difference("inc", met, met, a, b, seed=3)
    r2 = paired_difference("inc", met, met, a, b, seed=3)
    assert r1 == r2
    assert r1["delta_p90"] == pytest.approx(7.0, abs=1e-3)
    lo, hi = r1["delta_p90_ci95"]
    assert lo == pytest.approx(7.0, abs=1e-3) and hi == pytest.approx(7.0, abs=1e-3)


def test_p90_never_met_gives_no_difference():
    a = np.array([10.0] * 5 + [math.inf] * 5)
    b = np.array([11.0] * 10)
    r = paired_difference("inc", a <= 60, b <= 60, a, b, seed=0)
    assert r["p90_a"] is None and r["delta_p90"] is None
    assert r["delta_p90_ci95"] == [None, None]
    assert r["delta_p_met"] == 0.5
    # Identical arrays with "never" are still exactly zero.
    same = paired_difference("inc", a <= 60, a <= 60, a, a, seed=0)
    assert same["delta_p90"] == 0.0 and same["delta_p90_ci95"] == [0.0, 0.0]


@pytest.mark.parametrize("n", [10, 200])
def test_a_percentile_interpolated_towards_never_is_never(n):
    # The last tenth of the replications never completes, so p90 lies 0.1 of the way from the
    # last finite time to "never": it is "never", not ~1e299 minutes.
    from sim.results import completion_stats

    never = n // 10
    a = np.array([float(i) for i in range(1, n - never + 1)] + [math.inf] * never)
    stats = completion_stats(a)
    assert stats["p90"] is None and stats["p95"] is None
    assert stats["p50"] == pytest.approx(float(np.median(np.arange(1, n + 1))))
    b = np.where(np.isfinite(a), a, float(n))  # B completes every replication
    r = paired_difference("inc", a <= 1e9, b <= 1e9, a, b, seed=0)
    assert r["p90_a"] is None and r["delta_p90"] is None
    assert r["p90_b"] == pytest.approx(np.quantile(b, 0.9))


def test_cli_compare_x_x_reports_exact_zeros(capsys):
    assert main(["compare", "ordos-123", "ordos-123", "--reps", "6", "--json", "-q"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["replications"] == 6
    _assert_all_zero(data["incidents"])
    assert main(["compare", "ordos-123", "ordos-123", "--reps", "6", "-q"]) == 0
    text = capsys.readouterr().out
    assert "ΔP(holds)" in text and "Δp90" in text
    # One row per incident: ΔP(holds) +0.000 [+0.000,+0.000] ... Δp90 +0.0 [+0.0,+0.0].
    rows = [ln for ln in text.splitlines() if "[+0.000,+0.000]" in ln]
    assert len(rows) == 3
    for row in rows:
        assert re.search(r" \+0\.000 +\[\+0\.000,\+0\.000\] ", row), row
        assert re.search(r" \+0\.0 +\[\+0\.0,\+0\.0\]$", row), row
