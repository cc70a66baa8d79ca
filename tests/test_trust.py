"""Issue 11, "answers a planner can trust": one test per item, named after it.

Each test reproduces the failure the issue describes on the behaviour before the fix.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from sim.builtin import ordos_123
from sim.comparison import compare
from sim.dists import Dist
from sim.experiment import replication_seed, run
from sim.plan import draw
from sim.planning import prepare
from sim.scenario import Incident

REPS = 30


def test_item2_fleet_edits_keep_common_random_numbers(ordos):
    """Adding coaches (`fleet: {totals: {coach: 264}}`) used to shift every later vehicle's
    index and so its draws: a hazmat incident then "changed" although nothing it uses did."""
    base = ordos_123(replications=REPS)
    hazmat_only = Incident("Xuejiawan hazmat only", "xuejiawan", {"hazmat": "all", "freight": 20})
    a = dataclasses.replace(base, incidents=(*base.incidents, hazmat_only))
    b = dataclasses.replace(a, name="more coaches", fleet=a.fleet.with_totals(coach=264))
    assert b.fleet.count_by_class()["coach"] == 264 != a.fleet.count_by_class()["coach"]

    # Every vehicle present in both fleets draws exactly the same uniforms, wherever it now
    # sits in the fleet's vehicle order.
    plan_a = prepare(ordos, a)[-1]
    plan_b = prepare(ordos, b)[-1]
    da = draw(plan_a, replication_seed(a.seed, hazmat_only.name, 3))
    db = draw(plan_b, replication_seed(b.seed, hazmat_only.name, 3))
    pos_b = {k: i for i, k in enumerate(plan_b.keys.tolist())}
    common = [(i, pos_b[k]) for i, k in enumerate(plan_a.keys.tolist()) if k in pos_b]
    assert len(common) == a.fleet.total  # coaches were only added
    ia, ib = (np.array(x) for x in zip(*common, strict=True))
    moved = np.count_nonzero(ia != ib)
    assert moved > 500  # hundreds of vehicles sit at another position in B ...
    for field in ("avail", "reach", "accept", "call", "mobilisation", "trip", "service"):
        assert np.array_equal(getattr(da, field)[ia], getattr(db, field)[ib]), field

    # ... and the incident that does not request coaches is bit-identical.
    ra, rb = run(a, network=ordos), run(b, network=ordos)
    sa, sb = ra.summary["incidents"][-1], rb.summary["incidents"][-1]
    assert sa == sb
    c = compare(a, b, network=ordos)
    row = next(r for r in c.incidents if r["name"] == hazmat_only.name)
    assert row["delta_p_met"] == 0.0 and row["delta_p90"] == 0.0
    assert row["delta_p90_ci95"] == [0.0, 0.0]
    # compare says what it paired.
    assert c.paired["vehicles_in_both"] == a.fleet.total
    assert c.paired["vehicles_only_in_b"] == 264 - a.fleet.count_by_class()["coach"]
    assert c.paired["vehicles_only_in_a"] == 0


def _one_vehicle_through_a_busy_checkpoint(warmup: float):
    from sim.dists import Dist
    from sim.plan import CheckpointSpec, ClassPlan, IncidentPlan, StagingSpec

    service = Dist.lognormal(1.0, 0.5)
    cp = CheckpointSpec("busy", 1, lanes=1, service=service, background_per_min=0.8)
    cls = ClassPlan("coach", 1, False, np.arange(1), 1, Dist.lognormal(1.0, 0.3),
                    Dist.lognormal(2.0, 0.3), 1.0, 1.0, 1.0)  # fmt: skip
    return IncidentPlan(
        name="pk",
        node=0,
        tier="region",
        deadline_min=180.0,
        success_fraction=1.0,
        classes=(cls,),
        vehicle_depot=np.zeros(1, dtype=np.int64),
        vehicle_operator=np.zeros(1, dtype=np.int64),
        operator_dispatchers=(1,),
        depot_legs_min=(np.array([1.0, 5.0]),),
        depot_checkpoints=(np.array([0], dtype=np.int64),),
        checkpoints=(cp,),
        staging=StagingSpec(1, Dist.lognormal(1.0, 0.3)),
        alert=Dist.lognormal(1.0, 0.5),
        trip_factor=Dist.lognormal(1.0, 0.1),
        warmup_min=warmup,
    )


def test_item7_warmup_puts_checkpoint_queues_in_steady_state():
    """At utilisation 0.9 the fleet waited 5.65 min after the 60-min warm-up, against the
    Pollaczek-Khinchine steady state 7.05: the queue was still filling. The warm-up is now
    derived from the checkpoint's load (sim.planning.steady_state_warmup)."""
    from sim.experiment import run_replications
    from sim.planning import steady_state_warmup

    plan = _one_vehicle_through_a_busy_checkpoint(60.0)
    (cp,) = plan.checkpoints
    lam, s = cp.background_per_min, cp.service
    rho = lam * s.mean
    assert 0.9 < rho < 0.91
    pk = lam * s.second_moment / (2 * (1 - rho))  # mean wait in queue, M/G/1
    assert 7.0 < pk < 7.1
    # A vehicle's checkpoint time is its wait plus its own service (PASTA: an arrival
    # independent of the ordinary traffic sees the time-average work in the queue).
    expected = pk + s.mean

    def fleet_wait(plan, reps: int) -> tuple[float, float]:
        res = run_replications(plan, 7, range(reps), log_vehicles=True)
        waits = np.array([r.vehicles[0].checkpoint_wait for r in res])
        return float(waits.mean()), float(waits.std(ddof=1) / np.sqrt(reps))

    old, old_se = fleet_wait(plan, 1500)
    assert old + 3 * old_se < 0.95 * expected  # the 60-min warm-up is far from steady state

    warmup = steady_state_warmup(plan.checkpoints, 60.0)
    assert 2000 < warmup < 3000
    mean, se = fleet_wait(dataclasses.replace(plan, warmup_min=warmup), 4000)
    assert se < 0.02 * expected
    assert abs(mean - expected) < 0.05 * expected, (mean, se, expected)


def test_item8_a_sweep_row_is_a_run(ordos, tmp_path):
    """The sweep gave P 0.780 at Shulinzhao and `run` of the same demand there 0.795 with the
    same seed: a site's streams were keyed by the site's name. They are now keyed by the swept
    incident's name, so the recipe of the README reproduces a row exactly."""
    import yaml

    from sim.cli import main
    from sim.scenario import load_scenario
    from sim.sweeps import sweep

    src = ordos_123(replications=REPS)
    template = src.incidents[2]  # freight, coach and taxi from the whole region
    result = sweep(src, "seats", network=ordos, incident=template.name)
    row = next(r for r in result.rows if r["site"] == "Shulinzhao")
    assert row["note"] is None and row["tier"] == "banner"
    # The README's recipe: the swept incident, same name, demand and scope, moved to the site.
    f = tmp_path / "shulinzhao.yaml"
    f.write_text(
        yaml.safe_dump(
            {
                "extends": str(Path(__file__).parents[1] / "scenarios" / "ordos-123.yaml"),
                "replications": REPS,
                "incidents": [
                    {
                        "name": template.name,
                        "location": f"{row['lat']},{row['lon']}",
                        "demand": dict(template.demand),
                        "scope": template.scope,
                    }
                ],
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    (inc,) = run(load_scenario(f), network=ordos).summary["incidents"]
    assert (inc["p_met"], inc["completion_min"]["p50"], inc["completion_min"]["p90"]) == (
        row["p_met"],
        row["p50_min"],
        row["p90_min"],
    )
    assert inc["tier"] == row["tier"]
    assert main(["run", str(f), "--quiet"]) == 0


def test_item9_check_quiet_prints_the_verdict_not_the_table(capsys):
    """`fleetsim check --quiet` printed all 131 table lines."""
    from sim.cli import main

    assert main(["check", "--quiet", "--scenario", "scenarios/g65-toll-removal.yaml"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("metrics, 0 worse than tolerance") and len(out) == 2, out
    rc = main(
        ["check", "-q", "--scenario", "scenarios/g65-toll-removal.yaml",
         "--overlay", "tests/mutations/mobilisation-plus-20.yaml"]
    )  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert rc == 1 and "worse than tolerance" in out[0]
    assert len(out) >= 3 and all(line.startswith("  WORSE ") for line in out[1:-1])


def test_item9_every_command_exits_0_into_head():
    """`fleetsim sweep ... | head` exited 1 (a closed pipe) where `run ... | head` exited 0."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "sim.cli", "sweep", "scenarios/ordos-123.yaml", "--sites",
           "seats", "--reps", "3", "--quiet", "--workers", "1"]  # fmt: skip
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout is not None
    p.stdout.close()  # the reader leaves before the table is written (`head -c 0`)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0, err.decode()
    assert b"Traceback" not in err


def test_item9_breakdown_legend_is_inside_the_figure_with_one_incident(ordos):
    """With one incident the legend of breakdown.png was clipped off the figure."""
    from sim import plots

    sc = ordos_123(replications=5)
    for incidents in (sc.incidents[:1], sc.incidents):
        fig = plots.time_breakdown(run(dataclasses.replace(sc, incidents=incidents)).summary)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        (legend,) = fig.legends or [a.get_legend() for a in fig.axes if a.get_legend()]
        box, page = legend.get_window_extent(renderer), fig.bbox
        assert page.x0 <= box.x0 and box.x1 <= page.x1, (box, page)
        assert page.y0 <= box.y0 and box.y1 <= page.y1, (box, page)


def test_item9_a_run_of_hours_asks_first(tmp_path, capsys):
    """`replications: 100000000` passed without a word and ran for days. (It is now beyond
    sim.limits.MAX_REPLICATIONS; the most replications of a 90,000-vehicle fleet take hours.)
    The traffic shock keeps the runs on SimPy: the batch engine runs the sweep's 900,000
    incident-replications in minutes and, rightly, does not ask about them."""
    from sim.cli import main

    f = tmp_path / "long.yaml"
    f.write_text(
        "extends: " + str(Path(__file__).parents[1] / "scenarios" / "ordos-123.yaml") + "\n"
        "replications: 100000\nfleet: {scale: 45}\n"
        "shocks: {traffic: {central: {peak: 0.5, offpeak: 0.5}}}\n",
        encoding="utf-8",
    )
    for argv in (["run", str(f)], ["sweep", str(f), "--sites", "seats", "--workers", "1"]):
        assert main(argv) == 2  # no terminal to ask on: refused, with the estimate
        err = capsys.readouterr().err
        assert "will take about" in err and "--yes" in err, err
        assert " min " in err or " h " in err or "days" in err
    # A short run is not asked about.
    assert main(["run", str(f), "--reps", "3", "--quiet"]) == 0


def test_item7_documentation_says_what_the_code_does():
    """The README's parameter table said central incidents draw only on central depots while
    the default rule is `region`; the `--engine fast` error still named background traffic,
    which the heap engine supports."""
    import pytest

    from sim.errors import ValidationError
    from sim.experiment import run_replications
    from sim.targets import RuleSet

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| depot scope |"))
    assert RuleSet().scope == {"central": "region", "banner": "region", "region": "region"}
    assert "every depot, for every tier" in row and "`region`" in row
    plan = _one_vehicle_through_a_busy_checkpoint(60.0)
    run_replications(plan, 1, range(2), engine="fast")  # background traffic: supported
    fixed = dataclasses.replace(plan, trip_factor=Dist.fixed(1.0))
    with pytest.raises(ValidationError, match="degenerate") as exc:
        run_replications(fixed, 1, range(2), engine="fast")
    assert "background" not in str(exc.value)


def test_item9_planner_errors_get_hints_and_all_ignores_case(tmp_path, capsys):
    """`60min` got no unit hint, a tab no "use spaces" hint, and `hazmat: ALL` was refused
    although place names ignore case."""
    from sim.cli import main
    from sim.scenario import load_scenario

    cases = {
        "units.yaml": (
            "warmup_min: 60min\nincidents:\n  - {location: kangbashi, demand: {taxi: 1}}\n",
            "write the number alone, without a unit",
        ),
        "tabs.yaml": ("incidents:\n\t- {location: kangbashi, demand: {taxi: 1}}\n", "not tabs"),
        "empty.yaml": ("incidents: []\n", "incidents: must have at least 1 item"),
    }
    for name, (text, hint) in cases.items():
        f = tmp_path / name
        f.write_text(text, encoding="utf-8")
        assert main(["validate", str(f)]) == 2
        out = capsys.readouterr()
        assert hint in out.out + out.err, (name, out)
    f = tmp_path / "all.yaml"
    f.write_text("incidents:\n  - {location: xuejiawan, demand: {hazmat: ALL}}\n", "utf-8")
    (inc,) = load_scenario(f).incidents
    assert inc.demand == {"hazmat": "all"}
