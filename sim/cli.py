"""The ``fleetsim`` command line.

One argparse subcommand per task, each handled by one small ``_cmd_*`` function that returns
the exit code. Errors fleetsim raises on purpose (:class:`~sim._errors.FleetsimError`) print
``fleetsim: error: <message>`` to stderr and exit with status 2, like argparse's own usage
errors; nothing prints a traceback for bad input.

Commands::

    fleetsim network info   [--network SRC] [--json]
    fleetsim network table  [--network SRC] [--to PLACE] [--json]
    fleetsim network export [--network SRC] OUT.graphml|OUT.gpkg
    fleetsim route          [--network SRC] --from A --to B --vehicle CLASS [--json]
    fleetsim run            [SCENARIO] [--reps N] [--seed S] [--workers N] [--json] [--out DIR]

``SRC`` is anything :func:`sim.network.load_network` accepts (default ``ordos``); a place is a
name known to the network or ``"LAT,LON"``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from sim import __version__
from sim._errors import FleetsimError


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fleetsim`` command line.

    Parameters
    ----------
    argv
        Arguments without the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 on success, 2 for bad input or a failed command.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except FleetsimError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleetsim",
        description="Emergency fleet assembly on real road graphs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    network = commands.add_parser("network", help="inspect, tabulate or export a road network")
    network_commands = network.add_subparsers(
        dest="network_command", required=True, metavar="SUBCOMMAND"
    )
    info = network_commands.add_parser("info", help="size, dropped components, zones, road km")
    _add_network_option(info)
    _add_json_option(info)
    info.set_defaults(handler=_cmd_network_info)

    table = network_commands.add_parser(
        "table", help="travel time and road km from every seat to a place, per class"
    )
    _add_network_option(table)
    table.add_argument(
        "--to", default="Kangbashi", metavar="PLACE", help="destination (default: Kangbashi)"
    )
    _add_json_option(table)
    table.set_defaults(handler=_cmd_network_table)

    export = network_commands.add_parser(
        "export", help="write the cleaned network with class travel times (GraphML or GeoPackage)"
    )
    _add_network_option(export)
    export.add_argument("out", metavar="OUT", help="output file, *.graphml or *.gpkg")
    export.set_defaults(handler=_cmd_network_export)

    route = commands.add_parser("route", help="fastest route of one vehicle class")
    _add_network_option(route)
    route.add_argument("--from", dest="origin", required=True, metavar="A", help="origin")
    route.add_argument("--to", dest="destination", required=True, metavar="B", help="destination")
    route.add_argument(
        "--vehicle", required=True, metavar="CLASS", help="taxi, coach, bus, freight or hazmat"
    )
    _add_json_option(route)
    route.set_defaults(handler=_cmd_route)

    run = commands.add_parser("run", help="simulate a scenario and print the 1/2/3-hour verdict")
    run.add_argument(
        "scenario",
        nargs="?",
        default="ordos-123",
        metavar="SCENARIO",
        help="a built-in scenario name (default: ordos-123)",
    )
    run.add_argument(
        "--reps",
        type=int,
        default=None,
        metavar="N",
        help="replications per incident (default: the scenario's)",
    )
    run.add_argument(
        "--seed", type=int, default=None, metavar="S", help="root seed (default: the scenario's)"
    )
    run.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="local worker processes (results are identical for any N)",
    )
    run.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="also write summary.json into DIR (written atomically)",
    )
    _add_json_option(run)
    run.set_defaults(handler=_cmd_run)
    return parser


def _add_network_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--network",
        default="ordos",
        metavar="SRC",
        help="'ordos' (default), a .osm/.osm.bz2/.osm.xml/.graphml file, or 'place:<name>'",
    )


def _add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def _load(args: argparse.Namespace) -> Any:
    from sim.network import load_network

    return load_network(args.network)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def _cmd_network_info(args: argparse.Namespace) -> int:
    info = _load(args).info()
    if args.json:
        _print_json(info)
        return 0
    south, west, north, east = info["bbox"]
    rows = [
        ("network", info["source"]),
        ("nodes", f"{info['nodes']:,}"),
        ("edges", f"{info['edges']:,}"),
        (
            "dropped",
            f"{info['dropped_components']:,} components ({info['dropped_nodes']:,} nodes) "
            "outside the largest strongly connected component",
        ),
        ("non-road edges", f"{info['non_road_edges']:,} removed"),
        ("bounding box", f"S {south:.5f}  W {west:.5f}  N {north:.5f}  E {east:.5f}"),
        ("road km", f"{info['road_km']:,.1f}"),
        ("central nodes", f"{info['central_nodes']:,}"),
        ("named places", f"{info['named_places']:,}"),
        ("seats", ", ".join(info["seats"]) or "-"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print("nodes per zone:")
    zones = info["nodes_per_zone"]
    zone_width = max((len(z or "(unknown)") for z in zones), default=0)
    for zone, count in zones.items():
        print(f"  {zone or '(unknown)':<{zone_width}}  {count:>7,}")
    return 0


def _cmd_network_table(args: argparse.Namespace) -> int:
    from sim._errors import NetworkError

    network = _load(args)
    seats = [
        network.index_of(node)
        for node, data in network.graph.nodes(data=True)
        if data.get("kind") == "seat"
    ]
    if not seats:
        raise NetworkError(
            f"network {network.source!r} has no seat nodes (fleetsim:kind=seat) to tabulate"
        )
    target = network.locate(args.to)
    trees = {cls: network.tree_to(target, cls) for cls in network.classes}
    rows = []
    for seat in seats:
        data = network.graph.nodes[int(network.node_ids[seat])]
        row: dict[str, Any] = {
            "seat": data["name"] or data["place"] or str(network.node_ids[seat]),
            "node": int(network.node_ids[seat]),
            "zone": str(network.zone[seat]),
        }
        for cls, tree in trees.items():
            time_s, length_m = float(tree.time_s[seat]), float(tree.length_m[seat])
            reachable = time_s != float("inf")
            row[cls] = {
                "minutes": round(time_s / 60.0, 2) if reachable else None,
                "km": round(length_m / 1000.0, 2) if reachable else None,
            }
        rows.append(row)
    to_name = _node_label(network, target)
    if args.json:
        _print_json(
            {
                "network": network.source,
                "to": to_name,
                "to_node": int(network.node_ids[target]),
                "classes": list(network.classes),
                "rows": rows,
            }
        )
        return 0
    print(f"travel time (min) / road km from each seat to {to_name} ({network.source})")
    seat_width = max(len("seat"), *(len(r["seat"]) for r in rows))
    header = f"{'seat':<{seat_width}}" + "".join(f"  {cls:>15}" for cls in network.classes)
    print(header)
    print("-" * len(header))
    for row in rows:
        cells = "".join(f"  {_cell(row[cls]):>15}" for cls in network.classes)
        print(f"{row['seat']:<{seat_width}}{cells}")
    return 0


def _cmd_network_export(args: argparse.Namespace) -> int:
    from sim.network import export

    network = _load(args)
    path = export(network, args.out)
    print(f"wrote {path} ({network.n_nodes:,} nodes, {network.n_edges:,} edges)")
    return 0


def _cmd_route(args: argparse.Namespace) -> int:
    from sim.vehicles import check_vehicle_class

    vehicle = check_vehicle_class(args.vehicle, parameter="--vehicle")
    network = _load(args)
    origin = network.locate(args.origin)
    destination = network.locate(args.destination)
    tree = network.tree_to(destination, vehicle)
    path = tree.path(origin)
    result = {
        "from_node": int(network.node_ids[origin]),
        "to_node": int(network.node_ids[destination]),
        "vehicle": vehicle,
        "travel_time_s": float(tree.time_s[origin]),
        "length_m": float(tree.length_m[origin]),
        "path": network.node_ids[path].tolist(),
    }
    if args.json:
        _print_json(result)
        return 0
    print(
        f"{_node_label(network, origin)} -> {_node_label(network, destination)} by {vehicle}: "
        f"{result['travel_time_s'] / 60.0:.1f} min, {result['length_m'] / 1000.0:.2f} km, "
        f"{len(path) - 1} hops"
    )
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    import time

    from sim._errors import ValidationError
    from sim.builtin import BUILTIN_SCENARIOS
    from sim.experiment import run
    from sim.results import verdict_table

    if args.scenario not in BUILTIN_SCENARIOS:
        raise ValidationError(
            f"scenario {args.scenario!r}: unknown; built-in scenarios: "
            f"{', '.join(BUILTIN_SCENARIOS)}"
        )
    scenario = BUILTIN_SCENARIOS[args.scenario]()
    start = time.perf_counter()
    result = run(scenario, replications=args.reps, seed=args.seed, workers=args.workers)
    summary = result.summary
    elapsed = time.perf_counter() - start
    if args.out:
        from sim.outputs import write_outputs

        write_outputs(args.out, {"summary.json": _json_text(summary)})
    if args.json:
        print(_json_text(summary), end="")
        return 0
    print(verdict_table(summary))
    print(f"({elapsed:.1f} s on network {scenario.network!r})")
    return 0


def _json_text(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _node_label(network: Any, index: int) -> str:
    node = int(network.node_ids[index])
    data = network.graph.nodes[node]
    name = data.get("name") or data.get("place")
    return f"{name} (node {node})" if name else f"node {node}"


def _cell(value: dict[str, float | None]) -> str:
    if value["minutes"] is None:
        return "unreachable"
    return f"{value['minutes']:.1f} / {value['km']:.1f}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
