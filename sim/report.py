"""The HTML report of a results folder: one self-contained page a planner opens in a browser.

:func:`write_report` reads a results folder (:func:`sim.saved.read_results`) and writes
``report.html`` into it; ``fleetsim run/sweep/compare --out`` call it as their last file and
``fleetsim report DIR`` calls it again on any results folder, so the page is always built
from the folder alone and a rewrite gives the same bytes.

The page works offline and forwards as one file: Plotly's JavaScript (the copy shipped in
the ``plotly`` Python package), the page's own script and style (``sim/data/report.js``,
``sim/data/report.css``) and every figure's data are inlined; nothing is fetched from the
network unless the reader ticks the OpenStreetMap background. It holds

* the verdict table: demand, P(holds) with its 95 % interval, p50/p90, bottleneck;
* a map in longitude/latitude drawn from the scenario's network: roads coloured by
  banner/district, the central urban area, named places in English and Chinese where the
  network has both, depots, checkpoints and toll plazas, closed roads, and the incidents
  with their staging points (a run) or the sites coloured by P(holds) (a sweep: hover or
  click a site for its name, tier, P(holds), p90 and bottleneck);
* per incident of a run, the arrival curve against the deadline and the stage breakdown; for
  a sweep a sortable table of the sites; for a comparison the paired differences and, per
  incident, the completion-time distributions of A and B;
* the resolved scenario and the versions it ran with.

When the scenario cannot be loaded (e.g. its network file is not on this machine), the page
is written without the map's network layers and says why.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from sim import __version__
from sim.closures import closure_line
from sim.demand import LABELS, Basis
from sim.errors import FleetsimError
from sim.netload import cached_network
from sim.network import RoadNetwork
from sim.reportcharts import arrival_figure, breakdown_figure, cdf_figure
from sim.reportmap import map_layout, network_layers, node_names, road_label
from sim.results import FAILS_BELOW, HOLDS_AT
from sim.saved import Results, read_results
from sim.scenario import Scenario, load_scenario
from sim.targets import TIERS

#: Name of the sweep map's trace of sites (one marker per site, in the order of the rows).
SITES_TRACE = "sites"

_VERDICT_CLASS = {"holds": "holds", "at risk": "risk", "fails": "fails"}
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}
#: The look of every figure, sent once (Plotly's own templates weigh ~6 kB per figure).
_GRID = {"gridcolor": "#E6EAF0", "linecolor": "#C9CFD8", "zerolinecolor": "#C9CFD8"}
_TEMPLATE = {
    "layout": {
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"color": "#1d2433"},
        "hoverlabel": {"align": "left"},
        "xaxis": {**_GRID, "automargin": True},
        "yaxis": {**_GRID, "automargin": True},
    }
}


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def write_report(
    out_dir: str | os.PathLike[str], path: str | os.PathLike[str] | None = None
) -> Path:
    """Write the HTML report of a results folder.

    Parameters
    ----------
    out_dir
        A results folder of ``fleetsim run``, ``sweep`` or ``compare --out``.
    path
        Where to write (default: ``report.html`` in ``out_dir``, replaced atomically).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValidationError
        When ``out_dir`` is not a results folder.
    """
    results = read_results(out_dir)
    target = Path(path) if path is not None else Path(out_dir) / "report.html"
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(render_report(results), encoding="utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def render_report(results: Results) -> str:
    """The HTML report of a loaded results folder, as text.

    Parameters
    ----------
    results
        A results folder read by :func:`sim.saved.read_results`.

    Returns
    -------
    str
        A complete HTML document with every script, style and datum inlined.
    """
    page = _Page(title=f"{results.name} · fleetsim {results.kind} report")
    if results.kind == "compare":
        _compare_sections(page, results)
    elif results.kind == "sweep":
        _sweep_sections(page, results)
    else:
        _run_sections(page, results)
    return page.html()


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------


class _Plot(NamedTuple):
    id: str
    html: str


@dataclass
class _Page:
    """The sections of the page and the data its script reads."""

    title: str
    sections: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def figure(self, fig: Any, *, height: int, css: str = "plot", zoom: bool = False) -> _Plot:
        """Register a Plotly figure; return its id and the element it is drawn into.

        ``zoom``: the mouse wheel zooms (maps); elsewhere it scrolls the page.
        """
        fid = f"fig-{len(self.figures) + 1}"
        fig.update_layout(height=height)
        spec = json.loads(fig.to_json())
        spec["config"] = {**_PLOT_CONFIG, "scrollZoom": zoom}
        self.figures[fid] = spec
        return _Plot(fid, f'<div class="{css}" id="{fid}" data-figure="{fid}"></div>')

    def html(self) -> str:
        from plotly import __version__ as plotly_version
        from plotly.offline import get_plotlyjs

        data = {"figures": self.figures, "template": _TEMPLATE, **self.data}
        blob = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        blob = blob.replace("<", "\\u003c")  # nothing in the data can close the script
        generator = f"fleetsim {__version__}, Plotly {plotly_version}"
        return "\n".join(
            [
                "<!DOCTYPE html>",
                '<html lang="en">',
                "<head>",
                '<meta charset="utf-8">',
                '<meta name="viewport" content="width=device-width, initial-scale=1">',
                f'<meta name="generator" content="{_e(generator)}">',
                f"<title>{_e(self.title)}</title>",
                f"<style>\n{_asset('report.css')}</style>",
                "</head>",
                "<body>",
                f"<header><h1>{_e(self.title)}</h1></header>",
                "<main>",
                *self.sections,
                f'<p class="footer">Written by {_e(generator)} (Plotly’s JavaScript is inlined: '
                "the page works offline).</p>",
                "</main>",
                f'<script type="application/json" id="report-data">{blob}</script>',
                f"<script>{get_plotlyjs()}</script>",
                f"<script>\n{_asset('report.js')}</script>",
                "</body>",
                "</html>",
                "",
            ]
        )


def _asset(name: str) -> str:
    return resources.files("sim").joinpath("data", name).read_text(encoding="utf-8")


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _section(title: str, *body: str, sid: str | None = None) -> str:
    ident = f' id="{sid}"' if sid else ""
    return "\n".join([f"<section{ident}>", f"<h2>{_e(title)}</h2>", *body, "</section>"])


def _finite_float(x: Any) -> float | None:
    """``x`` as a finite float; ``None`` for None, NaN, infinity or a non-number."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _num(x: Any, spec: str = ".0f", missing: str = "never") -> str:
    """A number for a table; ``missing`` for None, NaN or infinity."""
    v = _finite_float(x)
    return missing if v is None else format(v, spec)


def _finite(x: Any) -> float | None:
    """A JSON-safe number: ``None`` for None, NaN or infinity."""
    v = _finite_float(x)
    return None if v is None else round(v, 4)


def _text(x: Any) -> str:
    """A text cell: empty for None and NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return str(x)


def _verdict(v: str | None) -> str:
    v = v or ""
    return f'<span class="verdict {_VERDICT_CLASS.get(v, "")}">{_e(v.upper())}</span>'


def _demand(inc: Mapping[str, Any]) -> str:
    """An incident's demand, with the meaning of a word: ``15 hazmat (all accepted), 20 bus``."""
    basis = inc.get("demand_basis") or {}
    parts = []
    for k, v in (inc.get("demand") or {}).items():
        label = LABELS.get(basis.get(k, ""))
        parts.append(f"{v} {k}" + (f" ({label})" if label else ""))
    return ", ".join(parts)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    """An HTML table; cells are HTML already (escape text with :func:`_e`)."""
    cls = f' class="{css}"' if css else ""
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table{cls}><thead><tr>{th}</tr></thead><tbody>\n{body}\n</tbody></table>"


# ---------------------------------------------------------------------------------------------
# Scenario and network of a folder
# ---------------------------------------------------------------------------------------------


@dataclass
class _Setting:
    """What a folder's resolved scenario gives the map (``None`` where it cannot be loaded)."""

    scenario: Scenario | None
    network: RoadNetwork | None
    note: str | None


def _setting(folder: Path) -> _Setting:
    path = folder / "scenario.resolved.yaml"
    if not path.is_file():
        return _Setting(None, None, "no scenario.resolved.yaml: the map has no network")
    try:
        scenario = load_scenario(path)
        network = cached_network(scenario.network)
    except FleetsimError as exc:
        return _Setting(None, None, f"the scenario could not be loaded here ({exc})")
    return _Setting(scenario, network, None)


def _map(setting: _Setting, *, hover: bool = True) -> tuple[Any, str]:
    """A map figure with the network layers, and the notes (HTML) on what it lacks: a
    warning without a network, what the road layer leaves out of a large one."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if setting.network is None or setting.scenario is None:
        return fig, f'<p class="note warn">{_e(setting.note)}</p>' if setting.note else ""
    notes = network_layers(fig, setting.network, setting.scenario, hover=hover)
    return fig, "".join(f'<p class="note roads">{_e(n)}</p>' for n in notes)


def _bbox(setting: _Setting, lat: Sequence[float], lon: Sequence[float]) -> tuple[float, ...]:
    if setting.network is not None:
        return setting.network.bbox
    if not len(lat):
        return (0.0, 0.0, 1.0, 1.0)
    return (min(lat), min(lon), max(lat), max(lon))


def _tiles_control(fid: str) -> str:
    return (
        '<label class="tiles"><input type="checkbox" data-tiles-for="'
        + fid
        + '"> OpenStreetMap background (needs an internet connection; © OpenStreetMap '
        "contributors)</label>"
    )


# ---------------------------------------------------------------------------------------------
# A run
# ---------------------------------------------------------------------------------------------


def _meta(results: Results, extra: Sequence[tuple[str, str]] = ()) -> str:
    s, sc = results.summary, results.scenario
    rows = [
        ("scenario", _e(s.get("scenario") or sc.get("name") or "")),
        ("description", _e(sc.get("description") or "")),
        ("network", _e(s.get("network") or (sc.get("network") or {}).get("source") or "")),
        ("seed", _e(s.get("seed"))),
        ("replications", _e(s.get("replications"))),
        ("closures", "<br>".join(_e(closure_line(c)) for c in s.get("closures") or [])),
        *extra,
    ]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows if v)
    return f'<table class="meta">{body}</table>'


def _verdict_rows(incidents: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    rows = []
    for inc in incidents:
        lo, hi = inc["p_met_ci95"]
        c = inc["completion_min"]
        rows.append(
            [
                _e(inc["name"]),
                _e(inc["tier"]),
                f"{_num(inc['deadline_min'])} min",
                _e(_demand(inc)),
                f"<b>{_num(inc['p_met'], '.3f')}</b>",
                f"[{_num(lo, '.3f')}, {_num(hi, '.3f')}]",
                _num(c.get("p50")),
                _num(c.get("p90")),
                _e(inc.get("bottleneck_class") or "–"),
                _verdict(inc.get("verdict")),
            ]
        )
    return rows


_VERDICT_HEAD = (
    "incident",
    "tier",
    "deadline",
    "demand",
    "P(holds)",
    "95 % interval",
    "p50 min",
    "p90 min",
    "bottleneck",
    "verdict",
)


def _verdict_table(summary: Mapping[str, Any]) -> str:
    return _table(_VERDICT_HEAD, _verdict_rows(summary["incidents"]), "verdicts") + (
        '<p class="note">P(holds): share of replications in which every requested vehicle '
        "was registered at the staging point by the deadline, with a Wilson 95 % interval; "
        "p50/p90: completion minutes (last requested vehicle registered); bottleneck: the "
        f"class that most often set the completion time. HOLDS at P ≥ {HOLDS_AT}, FAILS "
        f"below {FAILS_BELOW}.</p>"
    )


def _count(stats: Mapping[str, Any] | None) -> tuple[str, str]:
    """Mean and minimum of a count (``{mean, min}``), or dashes where there is none."""
    stats = stats or {}
    return _num(stats.get("mean"), ".1f", "–"), _num(stats.get("min"), ".0f", "–")


def _arrivals_table(summary: Mapping[str, Any]) -> str:
    """Per incident and class: vehicles requested, accepted and arrived by the deadline."""
    rows = []
    for inc in summary["incidents"]:
        for k, c in (inc.get("by_class") or {}).items():
            if "arrived" not in c:
                continue  # a folder written before the counts existed
            one = {**inc, "demand": {k: inc["demand"][k]}}
            rows.append(
                [
                    _e(inc["name"]),
                    _e(_demand(one)),
                    _e(c.get("requested")),
                    *_count(c.get("accepted")),
                    *_count(c.get("arrived")),
                ]
            )
    if not rows:
        return ""
    head = (
        "incident",
        "demand",
        "requested",
        "accepted mean",
        "accepted min",
        "arrived mean",
        "arrived min",
    )
    return _table(head, rows, "arrivals") + (
        '<p class="note">Vehicles per incident and class over the replications: requested '
        "(for <i>all in scope</i> and <i>all accepted</i>, every vehicle in scope that can "
        "reach the staging point), accepted the call, and arrived (registered at the staging "
        "point) by the deadline; mean and minimum. <i>All in scope</i> needs every vehicle "
        "requested, <i>all accepted</i> only those that accepted.</p>"
    )


def _run_map(page: _Page, results: Results, setting: _Setting) -> str:
    import plotly.graph_objects as go

    fig, notes = _map(setting)
    resolved = _resolved_incidents(results)
    locations = {}
    if setting.scenario is not None and setting.network is not None:
        for inc in setting.scenario.incidents:
            try:
                lat, lon = setting.network.places.point(inc.location)
            except FleetsimError:  # pragma: no cover - the scenario loaded, so it locates
                continue
            locations[inc.name] = (float(lon), float(lat))
    stars, squares = [], []
    for k, inc in enumerate(results.summary["incidents"], start=1):
        r = resolved.get(inc["name"])
        text = (
            f"<b>{k}. {_e(inc['name'])}</b><br>{_e(inc['tier'])} tier, deadline "
            f"{_num(inc['deadline_min'])} min<br>P(holds) {_num(inc['p_met'], '.3f')} · "
            f"p90 {_num(inc['completion_min'].get('p90'))} min · {_e(inc['verdict'].upper())}"
        )
        if r is not None:
            squares.append((r["staging_lon"], r["staging_lat"], text + "<br>staging point"))
        if inc["name"] in locations:
            stars.append((*locations[inc["name"]], text, f"{k}"))
        elif r is not None:
            stars.append((r["staging_lon"], r["staging_lat"], text, f"{k}"))
    if squares:
        lon, lat, text = zip(*squares, strict=True)
        fig.add_trace(
            go.Scatter(
                x=list(lon),
                y=list(lat),
                mode="markers",
                marker={"symbol": "square", "size": 10, "color": "white", "line": {"width": 1.5}},
                name="staging points",
                hovertext=list(text),
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    if stars:
        lon, lat, text, num = zip(*stars, strict=True)
        fig.add_trace(
            go.Scatter(
                x=list(lon),
                y=list(lat),
                mode="markers+text",
                marker={"symbol": "star", "size": 18, "color": "#CC0000", "line": {"width": 1}},
                text=list(num),
                textposition="top center",
                textfont={"size": 13, "color": "#CC0000"},
                name="incidents",
                hovertext=list(text),
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    lat_all = [p[1] for p in stars + squares]
    lon_all = [p[0] for p in stars + squares]
    map_layout(fig, _bbox(setting, lat_all, lon_all), network=setting.network)
    plot = page.figure(fig, height=760, css="plot map", zoom=True)
    caption = (
        '<p class="note">Incidents (numbered stars) and their staging points (squares), depots '
        "(area ∝ vehicles), checkpoints and toll plazas on the network. Hover for details; "
        "wheel to zoom, drag to pan; click a legend entry to hide a layer.</p>"
    )
    return notes + caption + plot.html + _tiles_control(plot.id)


def _resolved_incidents(results: Results) -> dict[str, dict[str, Any]]:
    """What each incident resolved to (``provenance`` of ``scenario.resolved.yaml``)."""
    prov = results.scenario.get("provenance") or {}
    return {r["name"]: r for r in prov.get("resolved_incidents") or []}


def _needed(resolved: Mapping[str, Any] | None) -> int | None:
    """Vehicles the success criterion needs: a fraction of each class requested.

    ``None`` when it is not one number: a class whose demand is ``all_accepted`` needs a
    fraction of the vehicles that accepted, which differs from replication to replication.
    """
    if not resolved or resolved.get("success_fraction") is None:
        return None
    if Basis.ALL_ACCEPTED.value in (resolved.get("demand_basis") or {}).values():
        return None
    f = float(resolved["success_fraction"])
    return sum(math.ceil(f * n - 1e-9) for n in (resolved.get("requested") or {}).values())


def _run_sections(page: _Page, results: Results) -> None:
    setting = _setting(results.path)
    summary = results.summary
    resolved = _resolved_incidents(results)
    page.sections.append(_section("What ran", _meta(results), sid="meta"))
    page.sections.append(_section("Verdict", _verdict_table(summary), sid="verdict"))
    arrivals = _arrivals_table(summary)
    if arrivals:
        page.sections.append(_section("What arrived", arrivals, sid="arrived"))
    page.sections.append(_section("Map", _run_map(page, results, setting), sid="map"))
    cards = []
    for k, inc in enumerate(summary["incidents"], start=1):
        arrival = arrival_figure(
            inc, results.arrivals, results.incidents, needed=_needed(resolved.get(inc["name"]))
        )
        never = all(v is None for v in (inc.get("breakdown_min") or {}).values())
        breakdown = (
            '<p class="note">The target was never met: no breakdown.</p>'
            if never
            else page.figure(breakdown_figure([(inc["name"], inc)]), height=210).html
        )
        head = (
            f"<h3>{k}. {_e(inc['name'])} {_verdict(inc.get('verdict'))}</h3>"
            f'<p class="note">{_e(inc["tier"])} tier, deadline {_num(inc["deadline_min"])} '
            f"min · demand {_e(_demand(inc))} · P(holds) "
            f"{_num(inc['p_met'], '.3f')} · p90 {_num(inc['completion_min'].get('p90'))} min</p>"
        )
        cards.append(
            f'<div class="incident">{head}{page.figure(arrival, height=360).html}{breakdown}</div>'
        )
    page.sections.append(_section("Incidents", *cards, sid="incidents"))
    page.sections.append(_scenario_section([("", results)]))


# ---------------------------------------------------------------------------------------------
# A sweep
# ---------------------------------------------------------------------------------------------

#: The site columns the page shows, in order (others found in the rows, such as a snap
#: distance, are shown after them).
_SITE_COLUMNS = (
    "site",
    "zone",
    "tier",
    "deadline_min",
    "p_met",
    "p_met_ci95_low",
    "p_met_ci95_high",
    "p50_min",
    "p90_min",
    "bottleneck_class",
    "verdict",
    "note",
)
_SITE_HIDDEN = {"node", "place", "lat", "lon", "geometry"}


def _site_data(sites: Any, network: RoadNetwork | None) -> dict[str, Any]:
    """The sites as columns for the page's script (hover, details, table)."""
    extra = [c for c in sites.columns if c not in _SITE_COLUMNS and c not in _SITE_HIDDEN]
    columns = [*_SITE_COLUMNS, *extra]
    out: dict[str, Any] = {"columns": columns, "rows": []}
    zh_names: list[str] = []
    roads: dict[str, int] = {}  # road label -> its index in out["roads"]
    road_of: list[int] = []
    for row in sites.itertuples(index=False):
        r = row._asdict()
        zh, road = "", ""
        if network is not None:
            node = int(r["node"])
            if node in network.graph:
                en, zh_name = node_names(network.graph.nodes[node])
                zh = zh_name if zh_name and zh_name != r["site"] else ""
                road = "" if en or zh_name else road_label(network, node)
        zh_names.append(zh)
        road_of.append(roads.setdefault(road, len(roads)) if road else -1)
        cells = []
        for c in columns:
            v = r[c]
            if isinstance(v, int | float | np.number):
                v = _finite(v)
                cells.append(round(v, 2) if v is not None and c.endswith("_min") else v)
            else:
                cells.append(_text(v))
        out["rows"].append(cells)
    out["zh"] = zh_names
    out["roads"] = list(roads)
    out["road"] = road_of
    return out


def _sweep_map(page: _Page, results: Results, setting: _Setting) -> str:
    import plotly.graph_objects as go

    sites = results.sites
    fig, notes = _map(setting, hover=False)
    p = sites["p_met"].to_numpy(float)
    unserved = sites["note"].notna().to_numpy() & (sites["note"].astype(str) != "")
    many = len(sites) > 60
    fig.add_trace(
        go.Scatter(
            x=sites["lon"].to_numpy(np.float32),
            y=sites["lat"].to_numpy(np.float32),
            mode="markers",
            name=SITES_TRACE,
            uid=SITES_TRACE,
            marker={
                "color": p.astype(np.float32),
                "colorscale": "RdYlGn",
                "cmin": 0.0,
                "cmax": 1.0,
                "size": 9 if many else 15,
                "symbol": np.where(unserved, 4, 0).tolist(),  # 0 = circle, 4 = x
                "line": {"color": "black", "width": 0.6},
                "colorbar": {
                    "title": {"text": "P(holds)", "side": "right"},
                    "orientation": "h",
                    "x": 0.5,
                    "y": -0.04,
                    "yanchor": "top",
                    "len": 0.5,
                    "thickness": 12,
                },
            },
            hovertemplate="%{text}<extra></extra>",
        )
    )
    map_layout(
        fig, _bbox(setting, sites["lat"].tolist(), sites["lon"].tolist()), network=setting.network
    )
    plot = page.figure(fig, height=820, css="plot map sites-map", zoom=True)
    page.data["sitesFigure"] = plot.id
    note = notes + (
        f'<p class="note">P(holds) at {len(sites)} sites (× where the demand cannot be met in '
        "scope). Hover or click a site for its details; wheel to zoom, drag to pan.</p>"
    )
    detail = (
        '<div id="site-detail" class="detail" aria-live="polite">Click a site on the map or '
        "in the table for its details.</div>"
    )
    return note + plot.html + _tiles_control(plot.id) + detail


def _tier_summary(sites: Any) -> str:
    rows = []
    order = {t: i for i, t in enumerate(TIERS)}
    groups = sorted(sites.groupby("tier", sort=False), key=lambda g: (order.get(g[0], 9), g[0]))
    for tier, group in groups:
        deadline = group["deadline_min"].dropna()
        counts = group["verdict"].value_counts()
        rows.append(
            [
                _e(tier),
                f"{_num(deadline.iloc[0] if len(deadline) else None)} min",
                str(len(group)),
                _verdict("holds") + f" {int(counts.get('holds', 0))}",
                _verdict("at risk") + f" {int(counts.get('at risk', 0))}",
                _verdict("fails") + f" {int(counts.get('fails', 0))}",
            ]
        )
    return _table(("tier", "deadline", "sites", "", "", ""), rows, "verdicts")


def _sweep_sections(page: _Page, results: Results) -> None:
    setting = _setting(results.path)
    s = results.summary
    extra = [
        ("swept incident", _e(s.get("incident"))),
        ("demand", _e(_demand(s.get("demand") or {}))),
        ("sites", _e(f"{len(results.sites)} ({s.get('sites')})")),
    ]
    page.sections.append(_section("What ran", _meta(results, extra), sid="meta"))
    page.sections.append(
        _section(
            "Verdict by tier",
            _tier_summary(results.sites),
            '<p class="note">The demand of one incident placed in turn at every site; each '
            "site's tier and deadline follow from where it lies. HOLDS at P ≥ "
            f"{HOLDS_AT}, FAILS below {FAILS_BELOW}.</p>",
            sid="verdict",
        )
    )
    page.data["sites"] = _site_data(results.sites, setting.network)
    page.sections.append(_section("Map", _sweep_map(page, results, setting), sid="map"))
    page.sections.append(
        _section(
            "Sites",
            '<p class="note">Click a column to sort; click a row to find the site on the '
            'map. <input type="search" id="sites-filter" placeholder="filter sites"></p>',
            '<div class="table-wrap"><table id="sites-table" class="sites"></table></div>',
            sid="sites",
        )
    )
    page.sections.append(_scenario_section([("", results)]))


# ---------------------------------------------------------------------------------------------
# A comparison
# ---------------------------------------------------------------------------------------------


def _compare_sections(page: _Page, results: Results) -> None:
    s = results.summary
    a, b = results.a, results.b
    assert a is not None and b is not None  # kind == "compare"
    rows = []
    for r in s["incidents"]:
        lo, hi = r["delta_p_met_ci95"]
        plo, phi = r["delta_p90_ci95"]
        rows.append(
            [
                _e(r["name"]),
                _num(r["p_met_a"], ".3f"),
                _num(r["p_met_b"], ".3f"),
                f"<b>{_num(r['delta_p_met'], '+.3f')}</b>",
                f"[{_num(lo, '+.3f')}, {_num(hi, '+.3f')}]",
                _num(r["p90_a"], ".1f", "n/a"),
                _num(r["p90_b"], ".1f", "n/a"),
                _num(r["delta_p90"], "+.1f", "n/a"),
                f"[{_num(plo, '+.1f', 'n/a')}, {_num(phi, '+.1f', 'n/a')}]",
            ]
        )
    head = (
        "incident", "P(holds) A", "P(holds) B", "ΔP(holds)", "95 % interval",
        "p90 A", "p90 B", "Δp90 min", "95 % interval",
    )  # fmt: skip
    unmatched = "".join(
        f'<p class="note">{label}: {_e(", ".join(names))}</p>'
        for label, names in (("only in A", s.get("only_in_a")), ("only in B", s.get("only_in_b")))
        if names
    )
    meta = _table(
        ("", "scenario", "seed", "replications"),
        [
            ["A (baseline)", _e(s.get("a")), _e(s.get("seed")), _e(s.get("replications"))],
            ["B (variant)", _e(s.get("b")), _e(s.get("seed")), _e(s.get("replications"))],
        ],
        "meta",
    )
    page.sections.append(_section("What ran", meta, sid="meta"))
    page.sections.append(
        _section(
            "B − A, paired",
            _table(head, rows, "verdicts"),
            unmatched,
            '<p class="note">Both variants ran with the same seed and replications, and the '
            "same incident in A and B draws the same random numbers for the same vehicle, so "
            "the differences are paired replication by replication. ΔP: paired normal "
            "interval; Δp90: paired bootstrap (n/a where a p90 is never).</p>",
            sid="verdict",
        )
    )
    for label, run in (("A", a), ("B", b)):
        page.sections.append(
            _section(
                f"Verdict of {label}: {run.summary.get('scenario')}",
                _verdict_table(run.summary),
                sid=f"verdict-{label.lower()}",
            )
        )
    maps = []
    for label, run in (("A", a), ("B", b)):
        setting = _setting(run.path)
        maps.append(
            f"<div><h3>{label}: {_e(run.summary.get('scenario'))}</h3>"
            f"{_run_map(page, run, setting)}</div>"
        )
    page.sections.append(_section("Maps", *maps, sid="map"))
    by_name = {
        side: {i["name"]: i for i in run.summary["incidents"]} for side, run in (("A", a), ("B", b))
    }
    cards = []
    for r in s["incidents"]:
        name = r["name"]
        ia, ib = by_name["A"][name], by_name["B"][name]
        cdf = cdf_figure(name, [("A", a, ia), ("B", b, ib)])
        breakdown = breakdown_figure([(f"A: {name}", ia), (f"B: {name}", ib)])
        cards.append(
            f'<div class="incident"><h3>{_e(name)}</h3>'
            f"{page.figure(cdf, height=360).html}{page.figure(breakdown, height=260).html}</div>"
        )
    page.sections.append(_section("Incidents", *cards, sid="incidents"))
    page.sections.append(_scenario_section([("A: ", a), ("B: ", b)]))


# ---------------------------------------------------------------------------------------------
# The resolved scenario and the versions
# ---------------------------------------------------------------------------------------------


def _scenario_section(runs: Sequence[tuple[str, Results]]) -> str:
    parts = []
    for label, run in runs:
        path = run.path / "scenario.resolved.yaml"
        text = path.read_text(encoding="utf-8") if path.is_file() else "(absent)"
        prov = run.scenario.get("provenance") or {}
        versions = {"fleetsim": prov.get("fleetsim_version"), **(prov.get("versions") or {})}
        rows = [(k, v) for k, v in versions.items() if v is not None]
        if prov.get("scenario_file"):
            rows.append(("scenario file", prov["scenario_file"]))
        body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
        parts.append(f'<h3>{_e(label)}versions</h3><table class="meta">{body}</table>')
        parts.append(
            f"<details><summary>{_e(label)}scenario.resolved.yaml (the scenario as run: "
            "<code>fleetsim run</code> on this file reproduces the results)</summary>"
            f"<pre>{_e(text)}</pre></details>"
        )
    return _section("Scenario and versions", *parts, sid="scenario")


__all__ = ["SITES_TRACE", "render_report", "write_report"]
