"""Sweeps: candidate sites, one row per site, independence of sites, unservable sites,
interruption, and the ``fleetsim sweep`` command."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from sim.builtin import ordos_123
from sim.cli import main
from sim.errors import ValidationError
from sim.sweeps import SITE_FIELDS, Site, candidate_sites, sweep, sweep_table

REPS = 12
SEATS = {
    "Tianjiao",
    "Kangbashi",
    "Shulinzhao",
    "Xuejiawan",
    "Aoleqi",
    "Ulan",
    "Xini",
    "Galutu",
    "Altan Xire",
}
CENTRAL_SEATS = {"Tianjiao", "Kangbashi", "Altan Xire"}


@pytest.fixture(scope="module")
def scenario():
    return ordos_123(replications=REPS)


@pytest.fixture(scope="module")
def seats(ordos, scenario):
    return sweep(scenario, "seats", network=ordos)


def test_seat_sites_are_the_nine_seats(ordos):
    sites = candidate_sites(ordos, "seats")
    assert {s.name for s in sites} == SEATS
    by_name = {s.name: s for s in sites}
    tianjiao = ordos.graph.nodes[int(ordos.node_ids[by_name["Tianjiao"].node])]
    assert tianjiao["place"] == "dongsheng_tianjiao"
    assert tianjiao["zone"] == "Dongsheng"


def test_node_sites_are_every_node_inside_the_region(ordos):
    sites = candidate_sites(ordos, "nodes")
    nodes = [s.node for s in sites]
    assert sorted(nodes) == np.flatnonzero(ordos.zone != "outside").tolist()
    assert len({s.name for s in sites}) == len(sites)


def test_grid_sites_are_snapped_deduplicated_and_inside(ordos):
    # a threshold above every grid point's distance keeps them all (see test_trust_locations
    # for the default 2 km, which skips points far from the roads)
    coarse = candidate_sites(ordos, "grid:20", max_snap_km=100)
    fine = candidate_sites(ordos, "grid:5", max_snap_km=100)
    for sites in (coarse, fine):
        nodes = [s.node for s in sites]
        assert len(nodes) == len(set(nodes))
        assert all(ordos.zone[n] != "outside" for n in nodes)
    assert 10 < len(coarse) < len(fine) <= int(np.sum(ordos.zone != "outside"))


@pytest.mark.parametrize("spec", ["grid:0", "grid:-5", "grid:abc", "grid:", "everywhere", ""])
def test_bad_site_specifications_are_rejected(ordos, spec):
    with pytest.raises(ValidationError, match="sites"):
        candidate_sites(ordos, spec)


def test_sweep_rows(seats):
    assert seats.replications == REPS and seats.sites == "seats"
    assert seats.incident == "Kangbashi (central)"
    assert len(seats.rows) == 9
    assert {r["site"] for r in seats.rows} == SEATS
    for r in seats.rows:
        assert tuple(r) == SITE_FIELDS
        lo, hi = r["p_met_ci95"]
        assert 0 <= lo <= r["p_met"] <= hi <= 1
        want = "central" if r["site"] in CENTRAL_SEATS else "banner"
        assert r["tier"] == want
        assert r["deadline_min"] == {"central": 60.0, "banner": 120.0}[want]
        assert r["note"] is None
    keys = [(r["p_met"], r["site"]) for r in seats.rows]
    assert keys == sorted(keys)  # failing sites first


def test_dataframe(seats):
    df = seats.to_dataframe()
    assert len(df) == 9
    assert {"p_met_ci95_low", "p_met_ci95_high", "p90_min", "tier"} <= set(df.columns)


def test_a_site_does_not_depend_on_the_other_sites(ordos, scenario, seats):
    row = next(r for r in seats.rows if r["site"] == "Xini")
    alone = sweep(scenario, [Site("Xini", ordos.places.locate("xini"))], network=ordos)
    assert alone.rows == [row]


def test_processes_give_the_same_rows(ordos, scenario, seats):
    assert sweep(scenario, "seats", network=ordos, workers=2).rows == seats.rows


def test_sites_the_fleet_in_scope_cannot_serve_get_a_note(ordos, scenario):
    res = sweep(scenario, "seats", network=ordos, incident="Xuejiawan hazmat (banner)")
    notes = {r["site"]: r for r in res.rows if r["note"]}
    # Freight is only kept in five banners and the hazmat demand is `all` of the banner.
    assert {"Xini", "Aoleqi", "Tianjiao", "Kangbashi", "Shulinzhao"} <= set(notes)
    assert "Xuejiawan" not in notes
    for r in notes.values():
        assert r["p_met"] == 0.0 and r["p_met_ci95"] == [0.0, 0.0]
        assert r["tier"] in ("central", "banner") and r["deadline_min"] > 0
    assert "0 freight vehicles" in notes["Xini"]["note"]
    assert "hazmat" in notes["Shulinzhao"]["note"]
    assert "no such vehicle in scope" in sweep_table(res)
    # Sites prepared by worker processes (forked from this one): the same rows and notes.
    again = sweep(scenario, "seats", network=ordos, incident="Xuejiawan hazmat (banner)", workers=2)
    assert again.rows == res.rows


def test_unknown_incident_lists_the_incidents(ordos, scenario):
    with pytest.raises(ValidationError, match="Kangbashi"):
        sweep(scenario, "seats", network=ordos, incident="Nowhere")


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_callback_can_interrupt_a_sweep(ordos, scenario, workers):
    calls = []

    def progress(n: int) -> None:
        calls.append(n)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(scenario, "seats", network=ordos, workers=workers, progress=progress)
    assert len(calls) == 3
    # No executor keeps running the queued chunks in the background.
    assert not [t for t in threading.enumerate() if "Executor" in type(t).__name__]


def test_progress_counts_every_replication(ordos, scenario):
    done = []
    hazmat = "Xuejiawan hazmat (banner)"
    sweep(scenario, "seats", network=ordos, incident=hazmat, progress=done.append)
    assert sum(done) == 9 * REPS


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


def test_cli_sweep_lists_all_nine_seats(capsys):
    code = main(["sweep", "ordos-123", "--sites", "seats", "--reps", "8", "--workers", "1", "-q"])
    out = capsys.readouterr()
    assert code == 0
    assert out.err == ""
    lines = out.out.splitlines()
    assert "P(holds)" in lines[1] and "tier" in lines[1] and "deadline" in lines[1]
    body = lines[3:-1]
    assert len(body) == 9
    for seat in SEATS:
        (line,) = [ln for ln in body if ln.startswith(seat)]
        tier = "central" if seat in CENTRAL_SEATS else "banner"
        assert f" {tier} " in line
        assert ("60 min" if tier == "central" else "120 min") in line
        assert "[" in line and "]" in line  # the interval


def test_cli_sweep_json(capsys):
    code = main(["sweep", "ordos-123", "--reps", "4", "--workers", "1", "--json", "-q"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sites"] == "seats" and data["replications"] == 4
    assert len(data["rows"]) == 9


def test_cli_sweep_bad_sites_exit_2(capsys, tmp_path):
    out = tmp_path / "out"
    assert main(["sweep", "ordos-123", "--sites", "grid:0", "--out", str(out)]) == 2
    assert "grid spacing" in capsys.readouterr().err
    assert not out.exists()


def test_cli_sweep_interrupted_leaves_no_output(monkeypatch, tmp_path, capsys):
    from sim.progress import ProgressBar

    calls = []
    original = ProgressBar.update

    def interrupt(self, n: int = 1) -> None:
        calls.append(n)
        if len(calls) == 5:
            raise KeyboardInterrupt
        original(self, n)

    monkeypatch.setattr(ProgressBar, "update", interrupt)
    out = tmp_path / "out"
    code = main(["sweep", "ordos-123", "--reps", "6", "--workers", "1", "--out", str(out)])
    assert code == 130
    assert "interrupted" in capsys.readouterr().err
    # No output folder; at most the cache of finished sites for --resume (test_resume.py).
    assert [p.name for p in tmp_path.iterdir()] in ([], ["out.partial"])


def test_cli_sweep_interrupted_while_writing_leaves_no_output(monkeypatch, tmp_path):
    import sim.plots

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.plots, "sweep_map", boom)
    out = tmp_path / "out"
    code = main(["sweep", "ordos-123", "--reps", "3", "--workers", "1", "-q", "--out", str(out)])
    assert code == 130
    # No output folder; every site is cached, so `--resume` only writes the files.
    assert [p.name for p in tmp_path.iterdir()] == ["out.partial"]
    assert len(list((tmp_path / "out.partial").glob("*.json"))) == 9


def test_cli_sweep_out_is_complete(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["sweep", "ordos-123", "--reps", "3", "--workers", "1", "--out", str(out)])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        ".fleetsim-output",
        "report.html",
        "scenario.resolved.yaml",
        "sites-map.png",
        "sites.csv",
        "sites.geojson",
        "summary.json",
    ]
    assert f"wrote {out}" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary folder left
