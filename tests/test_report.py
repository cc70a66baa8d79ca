"""The HTML report: built from the results folder alone, self-contained, small enough.

What the page does in a browser is tested in ``tests/test_report_browser.py``.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.builtin import ordos_123
from sim.cli import main
from sim.outputs import sweep_files, write_outputs
from sim.report import SITES_TRACE
from sim.results import verdict
from sim.sweeps import SweepResult, candidate_sites

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def page_data(html: str) -> dict:
    """The JSON the page's script reads: the figures and, for a sweep, the sites."""
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert m is not None
    return json.loads(m.group(1))


def traces(data: dict, name: str) -> list[dict]:
    return [t for fig in data["figures"].values() for t in fig["data"] if t.get("name") == name]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "run"
    sim.run("ordos-123", reps=8, out=out, figures=False)
    return out


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "sweep"
    sim.sweep("ordos-123", sites="seats", reps=4, out=out, figures=False)
    return out


def test_report_rebuilds_byte_for_byte_from_the_folder(run_folder, sweep_folder, capsys):
    for folder in (run_folder, sweep_folder):
        written = (folder / "report.html").read_bytes()
        (folder / "report.html").unlink()
        assert main(["report", str(folder)]) == 0
        assert (folder / "report.html").read_bytes() == written
        assert f"wrote {folder / 'report.html'}" in capsys.readouterr().out


def test_report_is_one_self_contained_file(run_folder):
    html = (run_folder / "report.html").read_text(encoding="utf-8")
    # Nothing is loaded from elsewhere: no external script, style sheet, image or font.
    assert not re.search(r"<(script|img|iframe)[^>]*\bsrc=", html)
    assert not re.search(r"<link\b", html)
    assert "@import" not in html and "url(http" not in html
    assert html.count("<script") == 3  # the data, Plotly, the page's own script
    assert "Plotly" in html and sim.__version__ in html


def test_run_report_holds_the_verdict_the_map_and_every_incident(run_folder):
    saved = sim.read_results(run_folder)
    html = (run_folder / "report.html").read_text(encoding="utf-8")
    assert "<title>ordos-123 · fleetsim run report</title>" in html
    for inc in saved.summary["incidents"]:
        assert f"<b>{inc['p_met']:.3f}</b>" in html  # the verdict table
        lo, hi = inc["p_met_ci95"]
        assert f"[{lo:.3f}, {hi:.3f}]" in html
        assert inc["verdict"].upper() in html
    data = page_data(html)
    # The arrival curves are the median of arrivals.csv, per incident, against the deadline.
    medians = [t for t in traces(data, "median")]
    assert len(medians) == len(saved.summary["incidents"])
    # Places in English and Chinese; incidents and staging points on the map.
    (places,) = traces(data, "named places (English · 中文)")
    assert "Kangbashi<br>康巴什区（滨河街道）" in places["text"]
    (incidents,) = traces(data, "incidents")
    assert incidents["text"] == ["1", "2", "3"]
    assert len(traces(data, "staging points")[0]["hovertext"]) == 3
    # The resolved scenario and the versions close the page.
    resolved = (run_folder / "scenario.resolved.yaml").read_text(encoding="utf-8")
    assert "seed: " in resolved and "seed: " in html
    assert html.index("scenario.resolved.yaml") > html.index("Verdict")


def test_sweep_report_has_one_site_per_row(sweep_folder):
    saved = sim.read_results(sweep_folder)
    html = (sweep_folder / "report.html").read_text(encoding="utf-8")
    assert "<title>ordos-123 · fleetsim sweep report</title>" in html
    data = page_data(html)
    (sites,) = traces(data, SITES_TRACE)
    rows = data["sites"]["rows"]
    assert len(rows) == len(saved.sites) == 9
    # One marker per site (coordinates travel as float32), the only thing that takes a click.
    lon = np.frombuffer(base64.b64decode(sites["x"]["bdata"]), dtype=np.float32)
    assert lon.tolist() == pytest.approx(saved.sites["lon"].tolist(), abs=1e-4)
    (fig,) = [f for f in data["figures"].values() if sites in f["data"]]
    assert all(t.get("hoverinfo") == "skip" for t in fig["data"] if t is not sites)
    cols = data["sites"]["columns"]
    names = [r[cols.index("site")] for r in rows]
    assert names == saved.sites["site"].tolist()
    assert [r[cols.index("p_met")] for r in rows] == pytest.approx(saved.sites["p_met"].tolist())
    assert data["sitesFigure"] in data["figures"]
    # Seats carry their Chinese names.
    assert data["sites"]["zh"][names.index("Kangbashi")] == "康巴什区（滨河街道）"


def test_report_without_a_scenario_file_says_why_the_map_is_bare(run_folder, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(run_folder, folder)
    (folder / "scenario.resolved.yaml").unlink()
    html = sim.write_report(folder).read_text(encoding="utf-8")
    assert "no scenario.resolved.yaml: the map has no network" in html
    assert traces(page_data(html), "incidents") == []


@pytest.mark.parametrize(
    ("scenario", "layer", "count"),
    [
        ("checkpoints-2022.yaml", "checkpoint (", None),
        ("jungar-hazmat-spill.yaml", "closed road", None),
        ("g65-toll-removal.yaml", "toll (", 3),
    ],
)
def test_the_map_shows_checkpoints_tolls_and_closures(tmp_path, scenario, layer, count):
    loaded = sim.load_scenario(SCENARIOS / scenario)
    sim.run(loaded, reps=2, out=tmp_path / "run", figures=False)
    data = page_data((tmp_path / "run" / "report.html").read_text(encoding="utf-8"))
    names = [t.get("name") or "" for fig in data["figures"].values() for t in fig["data"]]
    found = [n for n in names if n.startswith(layer)]
    assert found, names
    if layer.startswith("checkpoint"):
        kinds = [c for c in loaded.checkpoints if c.kind == "checkpoint"]
        assert found == [f"checkpoint ({len(kinds)})"]
    if count is not None:
        assert found == [f"{layer}{count})"]


def test_compare_out_writes_both_runs_and_a_report(tmp_path, capsys):
    out = tmp_path / "cmp"
    a, b = SCENARIOS / "checkpoints-2022.yaml", SCENARIOS / "checkpoints-2022-green.yaml"
    assert main(["compare", str(a), str(b), "--reps", "3", "--out", str(out), "-q"]) == 0
    assert "B − A" in capsys.readouterr().out
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == [
        ".fleetsim-output",
        "a/arrivals.csv",
        "a/incidents.csv",
        "a/scenario.resolved.yaml",
        "a/summary.json",
        "b/arrivals.csv",
        "b/incidents.csv",
        "b/scenario.resolved.yaml",
        "b/summary.json",
        "comparison.csv",
        "report.html",
        "summary.json",
    ]
    saved = sim.read_results(out)
    assert saved.kind == "compare" and saved.a.kind == saved.b.kind == "run"
    assert saved.summary["a"] == "checkpoints-2022" == saved.a.summary["scenario"]
    assert list(saved.comparison["incident"]) == [r["name"] for r in saved.summary["incidents"]]
    assert saved.comparison["delta_p_met"].tolist() == pytest.approx(
        [r["delta_p_met"] for r in saved.summary["incidents"]]
    )
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<title>checkpoints-2022-green vs checkpoints-2022 · fleetsim compare report" in html
    # The runs in a/ and b/ are complete run folders: they rerun to the same summaries.
    rerun = sim.run(out / "a" / "scenario.resolved.yaml")
    assert json.loads(json.dumps(rerun.summary)) == saved.a.summary
    written = (out / "report.html").read_bytes()
    assert sim.write_report(out).read_bytes() == written


def test_compare_out_is_checked_before_the_work(tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("x")
    code = main(["compare", "ordos-123", "ordos-123", "--out", str(tmp_path / "mine"), "-q"])
    assert code == 2 and "fleetsim did not write" in capsys.readouterr().err
    assert (tmp_path / "mine" / "keep.txt").read_text() == "x"


def test_report_of_what_is_not_a_results_folder(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a results folder" in capsys.readouterr().err


def test_a_477_site_sweep_report_stays_under_5_mb(tmp_path, ordos):
    """Every node of the embedded network as a site, with values of the real precision."""
    scenario = ordos_123(replications=20)
    sites = candidate_sites(ordos, "nodes")
    assert len(sites) == 477
    rng = np.random.default_rng(1)
    rows = []
    for s in sites:
        k = int(rng.integers(0, 21))
        p = k / 20
        rows.append(
            {
                "site": s.name,
                "node": int(ordos.node_ids[s.node]),
                "place": None,
                "lat": round(float(ordos.lat[s.node]), 6),
                "lon": round(float(ordos.lon[s.node]), 6),
                "zone": str(ordos.zone[s.node]),
                "tier": "region",
                "deadline_min": 180.0,
                "p_met": p,
                "p_met_ci95": [round(max(0.0, p - 0.2113), 4), round(min(1.0, p + 0.1611), 4)],
                "p50_min": round(float(rng.uniform(40, 300)), 4),
                "p90_min": round(float(rng.uniform(40, 300)), 4),
                "bottleneck_class": "bus",
                "verdict": verdict(p),
                "note": None,
            }
        )
    result = SweepResult(
        scenario="ordos-123",
        incident="Kangbashi (central)",
        demand={"taxi": 300, "bus": 40, "coach": 10},
        sites="nodes",
        seed=scenario.seed,
        replications=20,
        rows=rows,
        network=ordos,
    )
    out = write_outputs(tmp_path / "sweep", sweep_files(result, scenario, figures=False))
    size = (out / "report.html").stat().st_size
    assert size <= 5_000_000, f"{size:,} bytes"
    data = page_data((out / "report.html").read_text(encoding="utf-8"))
    assert len(data["sites"]["rows"]) == 477


def test_place_names_in_english_and_chinese_from_osm_tags(tmp_path):
    """Real OpenStreetMap data of China: ``name`` in Chinese, ``name:en`` in English."""
    from sim.netload import load_network
    from sim.reportmap import node_names

    osm = tmp_path / "tiny.osm"
    osm.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">'
        '<node id="1" lat="39.60" lon="109.78"><tag k="name" v="康巴什"/>'
        '<tag k="name:en" v="Kangbashi"/></node>'
        '<node id="2" lat="39.61" lon="109.79"/>'
        '<node id="3" lat="39.62" lon="109.80"><tag k="name" v="Dongsheng"/>'
        '<tag k="name:zh" v="东胜"/></node>'
        '<way id="9"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="primary"/>'
        "</way></osm>",
        encoding="utf-8",
    )
    graph = load_network(osm).graph
    assert node_names(graph.nodes[1]) == ("Kangbashi", "康巴什")
    assert node_names(graph.nodes[3]) == ("Dongsheng", "东胜")
    assert node_names({"name": None}) == (None, None)
