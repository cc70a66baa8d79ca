"""The report's charts: arrivals against the deadline, where the time went, completion times.

Plotly figures for the HTML report (:mod:`sim.report`), drawn from the tables of a results
folder (:func:`sim.saved.read_results`), never from a rerun: ``arrivals.csv`` gives the
arrival curve, ``summary.json`` the stage breakdown, ``incidents.csv`` the completion times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sim.plots import STAGE_COLOURS
from sim.records import STAGES
from sim.saved import Results


def arrival_figure(
    inc: Mapping[str, Any], arrivals: Any, incidents: Any, *, needed: int | None = None
) -> Any:
    """One incident's arrivals against the deadline.

    The median over replications of the vehicles assembled by each minute with a 10–90 %
    band, the requested count and the deadline; without ``arrivals`` (a run that kept no
    vehicle log), the empirical CDF of the completion time instead.

    Parameters
    ----------
    inc
        The incident's object of ``summary.json``.
    arrivals, incidents
        ``arrivals.csv`` and ``incidents.csv`` of the run (``None`` when absent).
    needed
        Vehicles needed when the success criterion is a fraction of those requested.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    import plotly.graph_objects as go

    deadline = float(inc["deadline_min"])
    requested = sum(v for v in (inc.get("demand") or {}).values() if isinstance(v, int | float))
    fig = go.Figure()
    mine = arrivals[arrivals["incident"] == inc["name"]] if arrivals is not None else None
    if mine is not None and len(mine):
        t = mine["minute"].to_numpy(np.float32)
        fig.add_trace(
            go.Scatter(
                x=t, y=mine["assembled_p90"].to_numpy(np.float32), mode="lines",
                line={"width": 0}, showlegend=False, hoverinfo="skip",
            )
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=t,
                y=mine["assembled_p10"].to_numpy(np.float32),
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor="rgba(0,114,178,0.25)",
                name="10–90 % of replications",
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=t,
                y=mine["assembled_p50"].to_numpy(np.float32),
                mode="lines",
                line={"color": "#0072B2", "width": 2.5},
                name="median",
                hovertemplate="%{x:.0f} min: %{y:.0f} vehicles assembled<extra>median</extra>",
            )
        )
        if requested:
            fig.add_hline(
                y=requested,
                line={"color": "black", "dash": "dash", "width": 1},
                annotation_text=f"requested: {requested:g}",
                annotation_position="top left",
            )
        if needed is not None and needed != requested:
            fig.add_hline(
                y=needed,
                line={"color": "black", "dash": "dot", "width": 1},
                annotation_text=f"needed: {needed:g}",
                annotation_position="bottom left",
            )
        ytitle = "vehicles assembled at the staging point"
    else:
        rows = incidents[incidents["incident"] == inc["name"]] if incidents is not None else None
        c = np.sort(rows["completion_min"].to_numpy(float)) if rows is not None else np.array([])
        finite = c[np.isfinite(c)]
        if finite.size:
            y = np.arange(1, finite.size + 1) / c.size
            fig.add_trace(
                go.Scatter(
                    x=finite.astype(np.float32),
                    y=y.astype(np.float32),
                    mode="lines",
                    line={"shape": "hv", "color": "#0072B2", "width": 2.5},
                    name="completion time",
                )
            )
        ytitle = "fraction of replications completed"
    fig.add_vline(
        x=deadline,
        line={"color": "#CC0000", "width": 2},
        annotation_text=f"deadline {deadline:.0f} min",
        annotation_position="top right",
        annotation_font_color="#CC0000",
    )
    fig.update_layout(
        template="none",  # the page applies one small template to every figure
        title={"text": "arrivals against the deadline", "font": {"size": 13}},
        xaxis_title="minutes since the incident report",
        yaxis_title=ytitle,
        margin={"l": 60, "r": 10, "t": 40, "b": 45},
        legend={"orientation": "h", "y": -0.25},
        hovermode="x unified",
    )
    return fig


def breakdown_figure(incs: Sequence[tuple[str, Mapping[str, Any]]]) -> Any:
    """Where the time went: stacked bars of the critical vehicle's mean stage minutes.

    Parameters
    ----------
    incs
        ``(label, incident)`` pairs, one bar each; an incident is its object of
        ``summary.json`` (``breakdown_min`` and ``deadline_min``).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    labels = [label for label, _ in incs]
    for s in STAGES:
        fig.add_trace(
            go.Bar(
                y=labels,
                x=[(inc["breakdown_min"] or {}).get(s) or 0.0 for _, inc in incs],
                orientation="h",
                name=s.replace("_", " "),
                marker_color=STAGE_COLOURS.get(s, "#777777"),
                hovertemplate=f"{s.replace('_', ' ')}: %{{x:.1f}} min<extra>%{{y}}</extra>",
            )
        )
    for label, inc in incs:
        d = float(inc["deadline_min"])
        fig.add_trace(
            go.Scatter(
                x=[d, d],
                y=[label, label],
                mode="markers",
                marker={"symbol": "line-ns", "size": 28, "line": {"width": 3, "color": "#CC0000"}},
                name="deadline",
                showlegend=label == incs[0][0],
                hovertemplate=f"deadline {d:.0f} min<extra></extra>",
            )
        )
    fig.update_layout(
        template="none",  # the page applies one small template to every figure
        barmode="stack",
        title={
            "text": "where the time went: mean minutes of the vehicle that completed the target",
            "font": {"size": 13},
        },
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.2, "yanchor": "top", "traceorder": "normal"},
        yaxis={"automargin": True, "autorange": "reversed"},
    )
    return fig


def cdf_figure(name: str, runs: Sequence[tuple[str, Results, Mapping[str, Any]]]) -> Any:
    """Completion-time distributions of one incident in A and B, with the deadlines.

    Parameters
    ----------
    name
        The incident.
    runs
        ``(label, run, incident)`` for A and for B: the run's folder read back and the
        incident's object of its ``summary.json``.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    styles = (("#0072B2", "solid", 3.0), ("#D55E00", "dash", 2.0))  # B dashed: A shows through
    for (label, run, inc), (colour, dash, width) in zip(runs, styles, strict=False):
        rows = run.incidents[run.incidents["incident"] == name]
        c = np.sort(rows["completion_min"].to_numpy(float))
        finite = c[np.isfinite(c)]
        if finite.size:
            fig.add_trace(
                go.Scatter(
                    x=finite.astype(np.float32),
                    y=(np.arange(1, finite.size + 1) / c.size).astype(np.float32),
                    mode="lines",
                    line={"shape": "hv", "color": colour, "width": width, "dash": dash},
                    name=f"{label}: {run.summary.get('scenario')}",
                )
            )
        fig.add_vline(
            x=float(inc["deadline_min"]),
            line={"color": colour, "width": 1.5, "dash": "dot"},
            annotation_text=f"deadline {label} {float(inc['deadline_min']):.0f} min",
            annotation_font_color=colour,
        )
    fig.update_layout(
        template="none",  # the page applies one small template to every figure
        title={"text": "completion time, A and B (common random numbers)", "font": {"size": 13}},
        xaxis_title="assembly completion (minutes since report; last requested vehicle)",
        yaxis_title="fraction of replications completed",
        yaxis_range=[0, 1.02],
        margin={"l": 60, "r": 10, "t": 40, "b": 45},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


__all__ = ["arrival_figure", "breakdown_figure", "cdf_figure"]
