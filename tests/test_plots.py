"""Every figure type renders to a valid, non-blank PNG, deterministically, without pyplot."""

from __future__ import annotations

import dataclasses

import matplotlib
import numpy as np
import pytest
from matplotlib import _pylab_helpers
from matplotlib.image import imread

from sim import plots
from sim.builtin import ordos_123
from sim.errors import ValidationError
from sim.experiment import run
from sim.sweeps import sweep

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result(ordos):
    return run(ordos_123(replications=6), network=ordos, log_vehicles=True)


@pytest.fixture(scope="module")
def figures(ordos, result):
    scenario = result.scenario
    plan, reps = result.plans[0], result.results[0]
    seats = sweep(scenario, "seats", network=ordos, replications=3)
    grid = sweep(scenario, "grid:40", network=ordos, replications=2)
    return {
        "map": lambda: plots.network_map(ordos, scenario, result.plans),
        "arrival": lambda: plots.arrival_curve(plan, reps, scenario_name=scenario.name),
        "cdf": lambda: plots.completion_cdf(plan, reps, scenario_name=scenario.name),
        "cdf-banner": lambda: plots.completion_cdf(
            result.plans[1], result.results[1], scenario_name=scenario.name
        ),
        "breakdown": lambda: plots.time_breakdown(result.summary),
        "sweep-seats": lambda: plots.sweep_map(seats),
        "sweep-grid": lambda: plots.sweep_map(grid),
    }


@pytest.mark.parametrize(
    "kind", ["map", "arrival", "cdf", "cdf-banner", "breakdown", "sweep-seats", "sweep-grid"]
)
def test_every_figure_renders_to_a_png(tmp_path, figures, kind):
    path = tmp_path / f"{kind}.png"
    plots.save_png(figures[kind](), path)
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert 10_000 < len(data) < 600_000
    img = imread(path)
    h, w = img.shape[:2]
    assert 300 <= h <= 2000 and 500 <= w <= 2500
    gray = img[..., :3].mean(axis=2)
    assert float(gray.std()) > 0.05  # not blank
    assert float(np.mean(gray < 0.5)) > 0.005  # some dark ink: text, lines
    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0  # no pyplot figure leaked


def test_figures_are_deterministic(tmp_path, figures):
    for kind in ("map", "arrival"):
        a, b = tmp_path / f"{kind}-a.png", tmp_path / f"{kind}-b.png"
        plots.save_png(figures[kind](), a)
        plots.save_png(figures[kind](), b)
        assert a.read_bytes() == b.read_bytes()


def test_figures_do_not_touch_the_pyplot_backend(figures):
    before = matplotlib.get_backend()
    figures["breakdown"]()
    assert matplotlib.get_backend() == before
    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0


def test_arrival_curve_needs_no_vehicle_log_and_counts_what_the_log_says(ordos):
    """The curve counts registration times every replication keeps (8 bytes a vehicle), so
    figures need no vehicle log; they are the assembled vehicles of the log."""
    plain = run(ordos_123(replications=3), network=ordos)
    logged = run(ordos_123(replications=3), network=ordos, log_vehicles=True)
    for reps_plain, reps_logged in zip(plain.results, logged.results, strict=True):
        for a, b in zip(reps_plain, reps_logged, strict=True):
            assert a.vehicles is None
            times = sorted(v.registered_min for v in b.vehicles if v.outcome == "assembled")
            assert a.registered_min.tolist() == times
    fig = plots.arrival_curve(plain.plans[0], plain.results[0], scenario_name="x")
    assert fig.axes
    broken = [dataclasses.replace(r, registered_min=None) for r in plain.results[0]]
    with pytest.raises(ValidationError, match="registration times"):
        plots.arrival_curve(plain.plans[0], broken, scenario_name="x")


def test_titles_name_the_scenario_and_the_incident(figures, result):
    fig = figures["arrival"]()
    title = fig.axes[0].get_title()
    assert "ordos-123" in title and result.plans[0].name in title
    assert "minutes" in fig.axes[0].get_xlabel()


def _morris_summary(effects: dict[str, float]) -> dict:
    ranking = [
        {
            "parameter": name,
            "p_met": {"mu_star": mu, "sigma": mu / 2},
            "p90_min": {"mu_star": 10 * mu, "sigma": 5 * mu},
        }
        for name, mu in effects.items()
    ]
    incident = {"name": "X", "tier": "central", "deadline_min": 60.0, "ranking": ranking}
    return {"scenario": "s", "method": "morris", "incidents": [incident]}


def test_the_sensitivity_key_names_the_parameters_by_rank_and_numbers_their_points():
    effects = {"b.unread": 0.0, "a.small": 0.1, "c.big": 0.4, "d.middle": 0.2}
    fig = plots.sensitivity_figure(_morris_summary(effects), top=3)
    panel, key_panel = fig.axes
    numbers = {t.get_text(): t.xy for t in panel.texts}
    assert numbers == {"1": (0.4, 0.2), "2": (0.2, 0.1), "3": (0.1, 0.05)}
    (key,) = key_panel.texts
    assert key.get_text().splitlines() == [
        "1  c.big  (μ* 0.400 ± 0.000)",
        "2  d.middle  (μ* 0.200 ± 0.000)",
        "3  a.small  (μ* 0.100 ± 0.000)",
    ]


def test_a_sobol_panel_falls_back_to_the_p90_when_p_never_moves():
    def row(name: str, st90: float) -> dict:
        zero = {"S1": 0.0, "S1_conf": 0.0, "ST": 0.0, "ST_conf": 0.0}
        p90 = {"S1": st90 / 2, "S1_conf": 0.01, "ST": st90, "ST_conf": 0.02}
        return {"parameter": name, "p_met": zero, "p90_min": p90}

    incident = {
        "name": "X",
        "tier": "central",
        "deadline_min": 60.0,
        "ranking": [row("staging.lanes", 0.9), row("weather.speed_factor", 0.1)],
    }
    summary = {"scenario": "s", "method": "sobol", "incidents": [incident]}
    (ax,) = plots.sensitivity_figure(summary).axes
    assert "p90" in ax.get_xlabel()
    widths = sorted(round(p.get_width(), 6) for p in ax.patches)
    assert widths == [0.05, 0.1, 0.45, 0.9]  # S1 and ST of both parameters, on the p90
