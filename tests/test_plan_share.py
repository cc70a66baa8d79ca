"""fleetsim plan --sites: the demand of each site's tier's incident, and a share of each tier.

The scenario has a central incident (20 taxis) and a banner incident (150 taxis). At the
seats, the central ones hold as they are; of the six banner seats, Shulinzhao and Xuejiawan
hold, Aoleqi, Ulan and Xini hold only with taxis added at their place (a lever each), and
Galutu never does (no lever adds taxis near it): every site cannot hold, but four of six can.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from sim.cli import main
from sim.experiment import run
from sim.levers import check_levers, load_levers
from sim.netload import cached_network
from sim.optimise import plan_levers, share_needed
from sim.planning import scenario_network
from sim.scenario import load_scenario

SCENARIO = {
    "name": "two-tiers",
    "incidents": [
        {"name": "Kangbashi", "location": "kangbashi", "demand": {"taxi": 20}},
        {"name": "Xuejiawan", "location": "xuejiawan", "demand": {"taxi": 150}},
    ],
    "replications": 20,
    "seed": 7,
}
LEVERS = {
    "levers": [
        {"vehicles": {"class": "taxi", "at": [place], "max_add": 150, "cost": 1}}
        for place in ("otog front", "otog", "hanggin")  # the banners of Aoleqi, Ulan, Xini
    ]
}
REPS = {"reps": 20, "train_reps": 10}


def _write(tmp: Path, name: str, data: dict) -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return _write(tmp_path, "s.yaml", SCENARIO), _write(tmp_path, "levers.yaml", LEVERS)


def _inputs(files: tuple[Path, Path]):
    scenario = load_scenario(files[0])
    lv, file, text = load_levers(files[1])
    return scenario, check_levers(scenario, cached_network(scenario.network), lv, file, text)


def test_share_needed_is_the_ceiling_of_the_exact_product() -> None:
    assert [share_needed(n, 0.6) for n in (1, 2, 3, 5, 6, 10)] == [1, 2, 2, 3, 4, 6]
    assert share_needed(6, 1.0) == 6 and share_needed(3, 0.5) == 2 and share_needed(0, 0.6) == 0


def test_a_share_of_each_tier_is_met_where_every_site_cannot_be(files) -> None:
    scenario, levers = _inputs(files)
    every = plan_levers(scenario, levers, sites="seats", **REPS)
    assert list(every.out_of_reach) == ["Galutu"]
    assert not every.meets
    assert every.after.by_tier(0.95)["banner"]["sites_meeting"] == 5  # all but Galutu
    share = plan_levers(scenario, levers, sites="seats", share=0.6, **REPS)
    assert share.meets and share.share == 0.6
    tiers = share.after.by_tier(0.95, 0.6)
    assert {t: (r["sites"], r["needed"]) for t, r in tiers.items()} == {
        "central": (3, 2),
        "banner": (6, 4),
    }
    assert tiers["banner"]["sites_meeting"] >= 4 and tiers["banner"]["met"]
    # Galutu still counts as a banner site (n = 6), as one that does not hold.
    assert share.after.p[share.after.names.index("Galutu")] == 0.0
    # The search stops caring about the hardest site within reach once the share is met: one
    # of the three levers is left unbought, and the plan is cheaper than the every-site one.
    assert len(share.plan) == 2 and len(every.plan) == 3
    assert share.cost < every.cost
    assert f"banner {tiers['banner']['sites_meeting']} of 6 hold (needs 4)" in share.verdict()
    assert "Galutu" in every.verdict() and "out of reach" in every.verdict()


def test_share_reaches_the_text_json_and_plan_yaml(files, tmp_path: Path, capsys) -> None:
    src, levers = files
    out = tmp_path / "out"
    args = ["plan", str(src), "--levers", str(levers), "--sites", "seats", "--share", "0.6"]
    args += ["--reps", "20", "--train-reps", "10", "--workers", "1", "--quiet"]
    assert main([*args, "--out", str(out), "--no-figures", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert printed == summary
    assert summary["share"] == 0.6 and summary["meets_target"]
    banner = summary["after"]["tiers"]["banner"]
    assert (banner["sites"], banner["needed"], banner["met"]) == (6, 4, True)
    assert summary["demand_per_tier"] == {"central": "Kangbashi", "banner": "Xuejiawan"}
    head = (out / "plan.yaml").read_text(encoding="utf-8")
    assert "a share 0.6 of the sites of each tier of seats" in head
    assert f"#   banner: {banner['sites_meeting']} of 6 hold (needs 4)" in head
    resolved = yaml.safe_load((out / "scenario.resolved.yaml").read_text(encoding="utf-8"))
    assert resolved["provenance"]["plan"]["share"] == 0.6
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "at a share 0.6 of the sites of each tier of seats" in text
    assert "ceil(0.6*n)" in text
    assert "demand at each site: its tier's incident's" in text
    assert "'Xuejiawan'" in text and "'Kangbashi'" in text


@pytest.mark.parametrize(
    ("extra", "expect"),
    [
        (["--sites", "seats", "--share", "0"], "argument --share: must be a share"),
        (["--sites", "seats", "--share", "1.5"], "got '1.5'"),
        (["--sites", "seats", "--share", "abc"], "got 'abc'"),
        (["--sites", "seats", "--share", "nan"], "got 'nan'"),
        (["--share", "0.6"], "--share 0.6 needs --sites"),
    ],
)
def test_bad_shares_are_refused_by_name(files, capsys, extra, expect) -> None:
    src, levers = files
    try:
        code = main(["plan", str(src), "--levers", str(levers), *extra])
    except SystemExit as exc:  # argparse
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert expect in err and "--share" in err


def test_each_site_takes_the_demand_of_its_tiers_incident(files) -> None:
    scenario, levers = _inputs(files)
    result = plan_levers(scenario, levers, sites="seats", **REPS)
    assert result.demand == {"central": "Kangbashi", "banner": "Xuejiawan"}
    assert result.notes == []
    net = scenario_network(scenario, cached_network(scenario.network))
    row = next(r for r in result.sweeps["before"].rows if r["site"] == "Aoleqi")
    assert row["tier"] == "banner"
    at = net.places.lat_lon(int(net.index_of(row["node"])))

    def moved(name: str) -> dict:
        inc = next(i for i in scenario.incidents if i.name == name)
        alone = dataclasses.replace(
            scenario, incidents=(dataclasses.replace(inc, location=at, tier=None),)
        )
        return run(alone, network=net, replications=20, seed=scenario.seed).summary["incidents"][0]

    banner, central = moved("Xuejiawan"), moved("Kangbashi")
    # The held-out row at a banner seat is the banner incident (150 taxis) moved there ...
    assert (row["p_met"], row["p90_min"]) == (banner["p_met"], banner["completion_min"]["p90"])
    # ... which the central incident's 20 taxis there would not give.
    assert central["p_met"] != banner["p_met"]
    assert result.before.p[result.before.names.index("Aoleqi")] == banner["p_met"]
    # --incident keeps its meaning: that incident's demand at every site.
    one = plan_levers(scenario, levers, sites="seats", incident="Kangbashi", **REPS)
    row = next(r for r in one.sweeps["before"].rows if r["site"] == "Aoleqi")
    assert (row["p_met"], row["p90_min"]) == (central["p_met"], central["completion_min"]["p90"])
    assert set(one.demand.values()) == {"Kangbashi"}


def test_a_tier_without_an_incident_takes_the_first_and_says_so(tmp_path: Path) -> None:
    data = {**SCENARIO, "incidents": SCENARIO["incidents"][:1]}
    scenario = load_scenario(_write(tmp_path, "s.yaml", data))
    lv, file, text = load_levers(_write(tmp_path, "levers.yaml", LEVERS))
    levers = check_levers(scenario, cached_network(scenario.network), lv, file, text)
    result = plan_levers(scenario, levers, sites="seats", reps=10, train_reps=5)
    assert result.demand == {"central": "Kangbashi", "banner": "Kangbashi"}
    assert result.notes == [
        "the scenario has no banner incident: its banner sites take the demand of "
        "'Kangbashi' (the first incident)"
    ]
