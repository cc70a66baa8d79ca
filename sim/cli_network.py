"""The ``fleetsim network`` and ``fleetsim route`` commands, and the output helpers every
command shares (JSON, ASCII-only terminals).

Commands::

    fleetsim network info   [--network SRC] [--json]
    fleetsim network places [--network SRC] [--json]
    fleetsim network roads  [--network SRC] [--json]
    fleetsim network table  [--network SRC] [--to PLACE] [--json]
    fleetsim network export [--network SRC] OUT.graphml|OUT.gpkg
    fleetsim network import SRC --out NET.graphml [--clip W,S,E,N|POLYGONS|ordos]
                            [--margin-km KM] [--highways drive|main|all]
                            [--zones FILE [--zone-field NAME]] [--central FILE]
                            [--places CSV|ordos]
    fleetsim route          [--network SRC] --from A --to B --vehicle CLASS [--json]

``places`` and ``roads`` list every name and road ref a scenario may use, with their aliases
(Latin and Chinese script); nodes are labelled by :mod:`sim.roads` (``"G18 12 km E of
Xuejiawan"``). :mod:`sim.cli` registers these commands with :func:`add_network_commands`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sim.vehicles import DEFAULT_CLASSES, check_class

__all__ = [
    "add_json_option",
    "add_network_commands",
    "add_network_option",
    "add_no_cache_option",
    "ascii_only",
    "json_text",
    "print_text",
]


def add_network_commands(commands: Any) -> None:
    """Add ``network {info,places,roads,table,export}`` and ``route`` to a subparser set.

    Parameters
    ----------
    commands
        The ``add_subparsers()`` object of the ``fleetsim`` parser.
    """
    network = commands.add_parser("network", help="inspect, tabulate or export a road network")
    network_commands = network.add_subparsers(
        dest="network_command", required=True, metavar="SUBCOMMAND"
    )
    info = network_commands.add_parser("info", help="size, dropped components, zones, road km")
    add_network_option(info)
    add_json_option(info)
    info.set_defaults(handler=_cmd_network_info)

    places = network_commands.add_parser(
        "places", help="every place name a scenario may use, with its aliases (both scripts)"
    )
    add_network_option(places)
    add_json_option(places)
    places.set_defaults(handler=_cmd_network_places)

    roads = network_commands.add_parser(
        "roads", help="every road ref a scenario may close, with its aliases (both scripts)"
    )
    add_network_option(roads)
    add_json_option(roads)
    roads.set_defaults(handler=_cmd_network_roads)

    table = network_commands.add_parser(
        "table", help="travel time and road km from every seat to a place, per class"
    )
    add_network_option(table)
    table.add_argument(
        "--to", default="Kangbashi", metavar="PLACE", help="destination (default: Kangbashi)"
    )
    add_json_option(table)
    table.set_defaults(handler=_cmd_network_table)

    export = network_commands.add_parser(
        "export", help="write the cleaned network with class travel times (GraphML or GeoPackage)"
    )
    add_network_option(export)
    export.add_argument("out", metavar="OUT", help="output file, *.graphml or *.gpkg")
    export.set_defaults(handler=_cmd_network_export)

    imp = network_commands.add_parser(
        "import",
        help="cut a region out of an OSM extract (.osm.pbf/.osm/.osm.bz2), clean and zone it, "
        "write a GraphML file that runs load fast",
    )
    imp.add_argument("source", metavar="SRC", help="an OSM extract: .osm.pbf, .osm, .osm.bz2")
    imp.add_argument("--out", required=True, metavar="NET.graphml", help="the file to write")
    imp.add_argument(
        "--clip",
        metavar="AREA",
        help="W,S,E,N (degrees), a .geojson/.gpkg file of polygons, or 'ordos' (the embedded "
        "network's Ordos area; also carries its zones, central area and places over)",
    )
    imp.add_argument(
        "--margin-km",
        type=float,
        default=None,
        metavar="KM",
        help="margin around the clip area so border roads survive (default 10)",
    )
    imp.add_argument(
        "--highways",
        choices=("drive", "main", "all"),
        default="drive",
        help="drive: every drivable class but service roads (default); main: tertiary and "
        "up with their links; all: service roads too",
    )
    imp.add_argument(
        "--zones", metavar="FILE", help="banner/district polygons (.geojson/.gpkg): node zones"
    )
    imp.add_argument(
        "--zone-field",
        default="name",
        metavar="NAME",
        help="the polygons' field holding the zone names (default: name)",
    )
    imp.add_argument("--central", metavar="FILE", help="central-urban-area polygons")
    imp.add_argument(
        "--places",
        metavar="CSV",
        help="named points (name, lat, lon; optional id, name_zh, aliases, kind, zone) "
        "snapped to the network, or 'ordos' (default with --clip ordos)",
    )
    add_no_cache_option(imp)
    imp.set_defaults(handler=_cmd_network_import)

    route = commands.add_parser("route", help="fastest route of one vehicle class")
    add_network_option(route)
    route.add_argument("--from", dest="origin", required=True, metavar="A", help="origin")
    route.add_argument("--to", dest="destination", required=True, metavar="B", help="destination")
    route.add_argument(
        "--vehicle",
        required=True,
        metavar="CLASS",
        help=f"a default vehicle class: {', '.join(DEFAULT_CLASSES)} (a scenario file may "
        "define more under vehicle_classes)",
    )
    add_json_option(route)
    route.set_defaults(handler=_cmd_route)


def add_network_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--network SRC`` (default ``ordos``) to ``parser``."""
    parser.add_argument(
        "--network",
        default="ordos",
        metavar="SRC",
        help="'ordos' (default), a .osm/.osm.bz2/.osm.xml/.osm.pbf/.graphml file, or "
        "'place:<name>'",
    )
    add_no_cache_option(parser)


def add_no_cache_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--no-cache`` (load networks from their files, bypassing :mod:`sim.netcache`)."""
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="load and clean the network from its file, neither reading nor writing the "
        "network cache (see FLEETSIM_CACHE_DIR)",
    )


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--json`` to ``parser``."""
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def ascii_only() -> bool:
    """Whether stdout cannot carry the tables' box characters (``PYTHONIOENCODING=ascii``)."""
    from sim.texttables import can_encode

    return not can_encode(sys.stdout)


def print_text(text: str) -> None:
    """Print a line of text to stdout, spelled in ASCII where stdout needs it."""
    from sim.texttables import ascii_text

    print(ascii_text(text) if ascii_only() else text)


def json_text(data: Any) -> str:
    """Return ``data`` as indented JSON text with a final newline.

    Non-ASCII text is ``\\u``-escaped where stdout cannot carry it (``PYTHONIOENCODING=ascii``):
    the same data.
    """
    return json.dumps(data, indent=2, ensure_ascii=ascii_only()) + "\n"


def _load(args: argparse.Namespace) -> Any:
    from sim.netload import load_network

    return load_network(args.network)


def _print_json(data: Any) -> None:
    print(json_text(data), end="")


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


def _cmd_network_places(args: argparse.Namespace) -> int:
    network = _load(args)
    rows = []
    for i, display, names in network.places.entries():
        node = network.node(i)
        rows.append(
            {
                "name": display,
                "node": int(network.node_ids[i]),
                "place": names.place,
                "name_zh": names.name_zh,
                "aliases": list(names.alt_names),
                "kind": node.get("kind"),
                "zone": str(network.zone[i]),
                "lat": round(float(network.lat[i]), 6),
                "lon": round(float(network.lon[i]), 6),
            }
        )
    if args.json:
        _print_json({"network": network.source, "places": rows})
        return 0
    from sim.texttables import new_table, render, right

    table = new_table("name", "中文", "id", right("node"), "zone", "kind", "aliases")
    for r in rows:
        table.add_row(
            r["name"],
            r["name_zh"] or "-",
            r["place"] or "-",
            str(r["node"]),
            r["zone"] or "-",
            r["kind"] or "-",
            "; ".join(r["aliases"]) or "-",
        )
    title = (
        f"{len(rows)} named places of {network.source} (any name, id, 中文 or alias works, "
        "case and _/- aside; or give 'LAT,LON')"
    )
    print(render(title, table, ascii_only=ascii_only()))
    return 0


def _cmd_network_roads(args: argparse.Namespace) -> int:
    network = _load(args)
    rows = [
        {
            "ref": road.ref,
            "km": round(road.km, 1),
            "names": list(road.names),
            "names_zh": list(road.names_zh),
            "ids": list(road.ids),
            "aliases": list(road.aliases),
        }
        for road in network.roads.roads
    ]
    if args.json:
        _print_json({"network": network.source, "roads": rows})
        return 0
    from sim.texttables import new_table, render, right

    table = new_table("ref", right("km"), "name", "中文", "id")
    for r in rows:
        table.add_row(
            r["ref"],
            f"{r['km']:,.1f}",
            "; ".join(r["names"]) or "-",
            "; ".join(r["names_zh"]) or "-",
            "; ".join(r["ids"]) or "-",
        )
    title = (
        f"{len(rows)} road refs of {network.source} (closures accept the ref or any alias, "
        "case and _/- aside)"
    )
    print(render(title, table, ascii_only=ascii_only()))
    return 0


def _cmd_network_table(args: argparse.Namespace) -> int:
    from sim.errors import NetworkError

    network = _load(args)
    seats = network.seats.tolist()
    if not seats:
        raise NetworkError(
            f"network {network.source!r} has no seat nodes (fleetsim:kind=seat) to tabulate"
        )
    target = network.places.locate(args.to)
    trees = {cls: network.tree_to(target, cls) for cls in network.classes}
    rows = []
    for seat in seats:
        row: dict[str, Any] = {
            "seat": network.places.label(seat),
            "node": int(network.node_ids[seat]),
            "label": network.roads.label(seat),
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
    to_name = f"{network.roads.label(target)} (node {int(network.node_ids[target])})"
    if args.json:
        _print_json(
            {
                "network": network.source,
                "to": network.places.label(target, with_id=True),
                "to_node": int(network.node_ids[target]),
                "to_label": network.roads.label(target),
                "classes": list(network.classes),
                "rows": rows,
            }
        )
        return 0
    from sim.texttables import new_table, render, right

    table = new_table("seat", *(right(cls) for cls in network.classes))
    for row in rows:
        table.add_row(row["label"], *(_cell(row[cls]) for cls in network.classes))
    title = f"travel time (min) / road km from each seat to {to_name} ({network.source})"
    print(render(title, table, ascii_only=ascii_only()))
    return 0


def _cmd_network_export(args: argparse.Namespace) -> int:
    from sim.netexport import export

    network = _load(args)
    path = export(network, args.out)
    print(f"wrote {path} ({network.n_nodes:,} nodes, {network.n_edges:,} edges)")
    return 0


def _cmd_network_import(args: argparse.Namespace) -> int:
    import statistics
    import time

    from sim.netimport import DEFAULT_MARGIN_KM, Zoning, import_network, parse_clip
    from sim.netload import load_network

    start = time.perf_counter()
    margin = DEFAULT_MARGIN_KM if args.margin_km is None else args.margin_km
    clip = None if args.clip is None else parse_clip(args.clip, margin_km=margin)
    ordos = clip is not None and clip.label == "ordos"
    zoning = Zoning(
        zones=args.zones,
        zone_field=args.zone_field,
        central=args.central,
        places=args.places if args.places is not None else ("ordos" if ordos else None),
        ordos_rules=ordos,
    )
    result = import_network(
        args.source,
        args.out,
        clip=clip,
        highways=None if args.highways == "all" else args.highways,
        zoning=zoning,
    )
    network = result.network
    info = network.info()
    if clip is not None:
        w, s, e, n = clip.bounds
        print_text(
            f"clip: {clip.label} (W {w:.4f} S {s:.4f} E {e:.4f} N {n:.4f}) "
            f"+ {clip.margin_km:g} km margin"
        )
    print_text(
        f"roads: {info['nodes']:,} nodes, {info['edges']:,} edges, {info['road_km']:,.1f} road "
        f"km ({args.highways}); dropped {info['dropped_nodes']:,} nodes outside the largest "
        f"strongly connected component"
    )
    print_text(f"zones: {result.zones_from}")
    print_text(f"central area: {result.central_from}")
    if result.placed:
        far = [p for p in result.placed if p.node is None]
        km = [p.km for p in result.placed if p.node is not None]
        print_text(
            f"places: {len(km)} of {len(result.placed)} snapped to a road node "
            f"(median {statistics.median(km) if km else 0:.2f} km, max {max(km, default=0):.2f} km)"
        )
        for p in far:
            print_text(
                f"  not placed: {p.point.name} ({p.point.lat:.5f},{p.point.lon:.5f}) is "
                f"{p.km:.1f} km from the nearest free road node"
            )
    written = time.perf_counter() - start
    print_text(f"wrote {result.path} in {written:.1f} s")
    if not args.no_cache:  # load it once: later runs start from the network cache
        start = time.perf_counter()
        reloaded = load_network(result.path)
        seats = ", ".join(reloaded.info()["seats"]) or "-"
        print_text(
            f"loaded back in {time.perf_counter() - start:.1f} s (now in the network cache): "
            f"{reloaded.n_nodes:,} nodes, {len(reloaded.places.names):,} place names, "
            f"seats: {seats}"
        )
    return 0


def _cmd_route(args: argparse.Namespace) -> int:
    network = _load(args)
    vehicle = check_class(args.vehicle, network.classes, parameter="--vehicle")
    origin = network.places.locate(args.origin)
    destination = network.places.locate(args.destination)
    tree = network.tree_to(destination, vehicle)
    path = tree.path(origin)
    result = {
        "from_node": int(network.node_ids[origin]),
        "to_node": int(network.node_ids[destination]),
        "from_label": network.roads.label(origin),
        "to_label": network.roads.label(destination),
        "vehicle": vehicle,
        "travel_time_s": float(tree.time_s[origin]),
        "length_m": float(tree.length_m[origin]),
        "path": network.node_ids[path].tolist(),
    }
    if args.json:
        _print_json(result)
        return 0
    labels = [
        f"{network.roads.label(i)} (node {int(network.node_ids[i])})" for i in (origin, destination)
    ]
    print_text(
        f"{labels[0]} -> {labels[1]} by {vehicle}: "
        f"{result['travel_time_s'] / 60.0:.1f} min, {result['length_m'] / 1000.0:.2f} km, "
        f"{len(path) - 1} hops"
    )
    return 0


def _cell(value: dict[str, float | None]) -> str:
    if value["minutes"] is None:
        return "unreachable"
    return f"{value['minutes']:.1f} / {value['km']:.1f}"
