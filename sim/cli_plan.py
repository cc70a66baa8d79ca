"""``fleetsim plan``: the command, its text table and its output folder.

``fleetsim plan SCENARIO --levers FILE [--sites seats|nodes|grid:KM [--share S]
[--incident NAME]] [--target P] [--budget B] [--reps N] [--train-reps N] [--out DIR]
[--json]`` runs
:func:`sim.optimise.plan_levers` and prints the plan, its verification on held-out seeds and
the coverage baseline. ``--out DIR`` writes, atomically (:func:`sim.outputs.write_outputs`,
the folder contract of ``run``): ``plan.yaml`` (the scenario overlay: ``extends`` the
scenario, so ``fleetsim run DIR/plan.yaml`` gives the verified numbers), ``summary.json``,
``changes.csv``, ``frontier.csv``, ``sites.csv``, ``levers.yaml``, ``scenario.resolved.yaml``
(the planned scenario), ``frontier.png`` and, with ``--sites``, ``sites-map-before.png`` and
``sites-map-after.png``.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from sim.optimise import DEFAULT_TARGET, DEFAULT_TRAIN_REPS, PlanResult


def add_plan_command(commands: Any, load_scenario: Callable[[str], Any]) -> None:
    """Add ``fleetsim plan`` to the command parsers.

    Parameters
    ----------
    commands
        The sub-parsers of ``fleetsim``.
    load_scenario
        Turns the SCENARIO argument (a built-in name or a file) into a scenario.
    """
    plan = commands.add_parser(
        "plan",
        help="the cheapest lever changes that make the targets hold, verified on held-out seeds",
    )
    plan.add_argument("scenario", metavar="SCENARIO", help="a built-in scenario name or file")
    plan.add_argument(
        "--levers", required=True, metavar="FILE", help="what may change and what it costs"
    )
    plan.add_argument(
        "--sites",
        default=None,
        metavar="SITES",
        help="plan for the demand placed at every site: 'seats', 'nodes' or 'grid:KM'; each "
        "site takes the demand of the scenario's incident of its tier, or the first "
        "incident's for a tier it has none of (default: the scenario's incidents)",
    )
    plan.add_argument(
        "--incident",
        default=None,
        metavar="NAME",
        help="with --sites: this incident's demand at every site, whatever its tier",
    )
    plan.add_argument(
        "--share",
        type=_share,
        default=None,
        metavar="S",
        help="with --sites: the share of each tier's sites that must reach the target, "
        "0 < S <= 1 (default 1, every site); a tier of n sites is met when ceil(S*n) of them "
        "hold, sites out of reach of every lever counting as sites that do not",
    )
    plan.add_argument(
        "--target",
        type=float,
        default=DEFAULT_TARGET,
        metavar="P",
        help=f"P(holds) to reach everywhere (default {DEFAULT_TARGET})",
    )
    plan.add_argument(
        "--budget", type=float, default=None, metavar="B", help="the most the plan may cost"
    )
    plan.add_argument(
        "--reps",
        type=int,
        default=None,
        metavar="N",
        help="held-out replications per site (default: the scenario's)",
    )
    plan.add_argument(
        "--train-reps",
        type=int,
        default=DEFAULT_TRAIN_REPS,
        metavar="N",
        help=f"training replications per site and plan (default {DEFAULT_TRAIN_REPS})",
    )
    plan.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="local worker processes (default: the CPUs, at most 8; results are identical)",
    )
    plan.add_argument("--out", default=None, metavar="DIR", help="write the results into DIR")
    plan.add_argument("--no-figures", action="store_true", help="write no PNG figure")
    plan.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    plan.add_argument("--json", action="store_true", help="print JSON instead of text")
    plan.set_defaults(handler=lambda args: _cmd_plan(args, load_scenario))


def _share(text: str) -> float:
    """``--share``: a number in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 1:  # also NaN
        raise argparse.ArgumentTypeError(
            f"must be a share of the sites in (0, 1] (0.6: 60 %), got {text!r}"
        )
    return value


def _cmd_plan(args: argparse.Namespace, load_scenario: Callable[[str], Any]) -> int:
    from sim.cli_network import ascii_only, json_text
    from sim.errors import ValidationError
    from sim.executors import default_workers
    from sim.levers import check_levers, load_levers
    from sim.netload import cached_network
    from sim.optimise import plan_levers
    from sim.outputs import check_out_dir, write_outputs

    if args.share is not None and args.sites is None:
        raise ValidationError(
            f"--share {args.share:g} needs --sites (a share of the sites of each tier); "
            "without --sites every incident of the scenario must hold"
        )
    scenario = load_scenario(args.scenario)
    levers, file, text = load_levers(args.levers)
    checked = check_levers(scenario, cached_network(scenario.network), levers, file, text)
    if args.out:
        check_out_dir(args.out)  # before the work, not after it
    workers = default_workers() if args.workers is None else args.workers

    def tick(n: int) -> None:
        if not args.quiet:
            print(".", end="", file=sys.stderr, flush=True)

    result = plan_levers(
        scenario,
        checked,
        sites=args.sites,
        incident=args.incident,
        target=args.target,
        budget=args.budget,
        reps=args.reps,
        train_reps=args.train_reps,
        workers=workers,
        progress=tick,
        share=1.0 if args.share is None else args.share,
    )
    if not args.quiet:
        print(
            f" {result.evaluations} evaluations ({result.site_runs} site simulations), "
            f"{result.seconds:.1f} s",
            file=sys.stderr,
        )
    if args.out:
        files = plan_files(result, Path(args.out), figures=not args.no_figures)
        out = write_outputs(args.out, files)
        if not args.quiet:
            print(f"wrote {out} ({len(files)} files)", file=sys.stderr)
    if args.json:
        print(json_text(result.to_json()), end="")
    else:
        print(plan_table(result, ascii_only=ascii_only()))
    return 0


def _where(result: PlanResult) -> str:
    """Where the target must hold: every incident, every site, or a share of each tier's."""
    if not result.sites:
        return "at every incident"
    if result.share == 1:
        return f"at every site of {result.sites}"
    return (
        f"at a share {result.share:g} of the sites of each tier of {result.sites} "
        f"(a tier of n sites needs ceil({result.share:g}*n) holding)"
    )


def _p(row: dict[str, Any]) -> str:
    lo, hi = row["p_met_ci95"]
    return f"{row['p_met']:.3f} [{lo:.2f}-{hi:.2f}]"


def plan_table(result: PlanResult, *, ascii_only: bool = False) -> str:
    """The plan as text: changes, verification per site, coverage baseline, frontier."""
    from sim.texttables import new_table, render, right

    data = result.to_json()
    whole = result.share == 1
    changes = new_table("lever", "change", right("units"), right("cost"), right("gain"))
    for c in data["changes"]:
        gain = c.get("gain_worst_p") if whole else c.get("gain_shortfall")
        changes.add_row(
            c["lever"],
            c["change"],
            str(c["units"]),
            f"{c['cost']:g}",
            "-" if gain is None else f"{gain:+.3f}",
        )
    what = "site" if result.sites else "incident"
    sites = new_table(what, "tier", right("before"), right("plan"), right("coverage plan"))
    cov = {r["site"]: r for r in data["coverage_baseline"]["rows"]}
    for b, a in zip(data["before"]["rows"], data["after"]["rows"], strict=True):
        sites.add_row(
            a["site"], a["tier"], _p(b), _p(a) + ("" if a["meets"] else " !"), _p(cov[a["site"]])
        )
    tiers = new_table(
        "tier",
        right(f"{what}s"),
        right("needed"),
        right("before"),
        right("plan"),
        right("coverage plan"),
    )
    for tier, a in data["after"]["tiers"].items():
        b = data["before"]["tiers"][tier]
        c = data["coverage_baseline"]["tiers"][tier]
        tiers.add_row(
            tier,
            str(a["sites"]),
            str(a["needed"]),
            str(b["sites_meeting"]),
            f"{a['sites_meeting']}" + ("" if a["met"] else " !"),
            str(c["sites_meeting"]),
        )
    front = new_table(right("cost"), right("worst P (train)"), right("mean P (train)"), "plan")
    for f in data["frontier"]:
        front.add_row(
            f"{f['cost']:g}",
            f"{f['worst_p_met']:.3f}",
            f"{f['mean_p_met']:.3f}",
            "; ".join(c["change"] for c in f["plan"]) or "as it is",
        )
    cb = data["coverage_baseline"]
    far = [f"  {s}: {why}" for s, why in data["out_of_reach"].items()]
    tries = [
        f"  search {a['attempt']}: training target {a['training_target']:g} "
        f"({a['training_replications']} replications), cost {a['cost']:g}"
        f" ({'; '.join(a['changes']) or 'no change'}); held-out failing: "
        f"{', '.join(a['held_out_failing']) or 'none'}"
        for a in data["attempts"]
    ]
    if result.incident is not None:
        demand = [f"demand at every {what}: that of {result.incident!r} (--incident)"]
    elif result.demand:
        demand = [
            f"demand at each {what}: its tier's incident's ("
            + "; ".join(f"{t}: {name!r}" for t, name in result.demand.items())
            + ")",
            *(f"note: {n}" for n in result.notes),
        ]
    else:
        demand = []
    return render(
        f"{data['scenario']}: plan for P(holds) >= {result.target:g} {_where(result)}",
        *demand,
        f"verdict: {data['verdict']}",
        *(
            [f"out of reach of every lever ({len(far)} {what}s, left out of the search):", *far]
            if far
            else []
        ),
        *(
            ["searches (each re-planned after a held-out failure):", *tries]
            if len(tries) > 1
            else []
        ),
        "",
        f"changes (cost {data['cost']:g}; gain: "
        + (
            "fall of the worst training P(holds) without it)"
            if whole
            else "rise of the training shortfall without it)"
        ),
        changes,
        "",
        f"held-out seeds (seed {result.seed}, {result.reps} replications; ! below target)",
        sites,
        "",
        f"{what}s holding per tier (held-out; needed: ceil({result.share:g}*n); ! short)",
        tiers,
        "",
        f"coverage baseline ({cb['model']}): cost {cb['cost']:g}, "
        + ("; ".join(c["change"] for c in cb["changes"]) or "no change")
        + f"; covers {cb['covered_after']} of {cb['sites']} "
        f"{what}s by travel time; meets the target: {'yes' if cb['meets_target'] else 'no'}",
        "",
        f"frontier (training seeds, {len(result.train.names)} {what}s searched: the best plan "
        "found at each cost)",
        front,
        f"({data['evaluations']} scenario evaluations, {data['site_runs']} {what} simulations of "
        f"{result.train_reps} replications on seed {result.train_seed}; {data['seconds']:.1f} s)",
        ascii_only=ascii_only,
    )


def plan_yaml(result: PlanResult, out_dir: Path) -> str:
    """``plan.yaml``: the plan as a scenario that ``extends`` the scenario planned for.

    Also a fragment for ``fleetsim check --overlay``. A scenario built in Python (no file)
    is written whole.
    """
    sc = result.scenario
    head = [
        *textwrap.wrap(
            f"fleetsim plan for {sc.name!r}: cost {result.cost:g}; {result.verdict()}.",
            width=96,
            initial_indent="# ",
            subsequent_indent="#   ",
        ),
        f"# Verified on seed {result.seed} with {result.reps} replications ({_where(result)}).",
        *(
            f"#   {tier}: {row['sites_meeting']} of {row['sites']} hold (needs {row['needed']})"
            for tier, row in result.after.by_tier(result.target, result.share).items()
        ),
        *(
            f"# Demand at the {tier} sites: {name!r}'s."
            for tier, name in (result.demand if result.incident is None else {}).items()
        ),
    ]
    body: dict[str, Any] = {}
    source = Path(sc.source) if sc.source else None
    if source is not None and source.is_file():
        body["extends"] = os.path.relpath(source.resolve(), out_dir.resolve())
        body["name"] = sc.name
        body.update(result.overlay())
    else:
        body = result.levers.data(result.plan)
    if result.reps != sc.replications:
        body["replications"] = result.reps
    for c in result.levers.changes(result.plan):
        head.append(f"#   {c['change']} (cost {c['cost']:g})")
    return "\n".join(head) + "\n" + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


def _csv(fields: list[str], rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


def plan_files(result: PlanResult, out_dir: Path, *, figures: bool = True) -> dict[str, Any]:
    """The files of ``fleetsim plan --out DIR`` (for :func:`sim.outputs.write_outputs`)."""
    from sim.outputs import json_text, resolved_scenario_yaml

    data = result.to_json()
    rows = []
    cov = {r["site"]: r for r in data["coverage_baseline"]["rows"]}
    for b, a in zip(data["before"]["rows"], data["after"]["rows"], strict=True):
        c = cov[a["site"]]
        rows.append(
            {
                "site": a["site"],
                "tier": a["tier"],
                "p_before": b["p_met"],
                "p_before_ci95": "-".join(map(str, b["p_met_ci95"])),
                "p_plan": a["p_met"],
                "p_plan_ci95": "-".join(map(str, a["p_met_ci95"])),
                "plan_meets": a["meets"],
                "p_coverage_plan": c["p_met"],
                "p_coverage_plan_ci95": "-".join(map(str, c["p_met_ci95"])),
            }
        )
    frontier = [{**f, "plan": "; ".join(c["change"] for c in f["plan"])} for f in data["frontier"]]
    files: dict[str, Any] = {
        "plan.yaml": plan_yaml(result, out_dir),
        "summary.json": json_text(data),
        "changes.csv": _csv(
            ["lever", "change", "units", "cost", "gain_shortfall", "gain_worst_p"],
            data["changes"],
        ),
        "frontier.csv": _csv(["cost", "worst_p_met", "mean_p_met", "shortfall", "plan"], frontier),
        "sites.csv": _csv(list(rows[0]) if rows else ["site"], rows),
        "levers.yaml": result.levers.text,
        "scenario.resolved.yaml": resolved_scenario_yaml(
            result.levers.scenario(result.plan),
            seed=result.seed,
            replications=result.reps,
            extra={
                "plan": {
                    "levers_file": result.levers.file,
                    "sites": result.sites,
                    "share": result.share,
                    "incident": result.incident,
                    "demand_per_tier": dict(result.demand),
                }
            },
        ),
    }
    if figures:
        from sim import plots

        def frontier_png(path: Path) -> None:
            plots.save_png(plots.frontier_figure(data), path)

        files["frontier.png"] = frontier_png
        for key, sw in result.sweeps.items():

            def sweep_png(path: Path, sw: Any = sw) -> None:
                plots.save_png(plots.sweep_map(sw), path)

            files[f"sites-map-{key}.png"] = sweep_png
    return files
