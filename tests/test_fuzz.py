"""Fuzz: hostile variants of the shipped scenarios through the real command line.

Each case takes a scenario of ``scenarios/``, mutates it (keys deleted, duplicated, retyped or
added; values swapped, replaced by huge, negative, NaN or odd ones, by control characters or by
subtrees of other scenarios; anchors and aliases, billion laughs, deep nesting, odd tags, lines
duplicated or cut), and runs ``fleetsim validate`` and ``fleetsim run --reps 1 --out DIR`` in
process (:func:`sim.cli.main`). Every case must end with exit 0 or 2, the same for both
commands, with no traceback on stderr, within :data:`CASE_BUDGET_S`, and leave ``DIR`` either
complete (with its marker file) or absent, with no temporary folder next to it.

Hypothesis is seeded (``derandomize``), so a run is reproducible. In ``make test`` the test
stops generating after :data:`DEFAULT_SECONDS`; ``FLEETSIM_FUZZ_EXAMPLES=2000`` runs that many
cases with no time bound, and ``-s`` prints the statistics (cases, exits, slowest case).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sim import yamlio
from sim.outputs import MARKER
from sim.scenario import scenario_json_schema
from tests.guards import TRACEBACK, budget, cli

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted((REPO / "scenarios").glob("*.yaml"))

#: Wall-clock seconds one case (validate + run) may take.
CASE_BUDGET_S = 60.0
#: Seconds of fuzzing in an ordinary test run (``FLEETSIM_FUZZ_EXAMPLES`` lifts the bound).
DEFAULT_SECONDS = 60.0
EXAMPLES = int(os.environ.get("FLEETSIM_FUZZ_EXAMPLES", "0") or 0)

settings.register_profile(
    "fleetsim-fuzz",
    max_examples=EXAMPLES or 10_000,  # the time bound ends the default run first
    derandomize=True,  # seeded: the same cases on every run
    database=None,  # nothing written to .hypothesis/
    deadline=None,  # the case budget below is checked instead
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    suppress_health_check=(
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ),
)


# ---------------------------------------------------------------------------------------------
# What a mutation may put into a file
# ---------------------------------------------------------------------------------------------


def _keys(schema: Any) -> set[str]:
    """Every key the scenario language knows (property names anywhere in its JSON Schema)."""
    out: set[str] = set()
    if isinstance(schema, dict):
        for k, v in schema.items():
            if k == "properties" and isinstance(v, dict):
                out |= set(v)
            out |= _keys(v)
    elif isinstance(schema, list):
        for v in schema:
            out |= _keys(v)
    return out


KEYS = sorted(_keys(scenario_json_schema()) | {"extends", "lanez", "<<", "", "1", "名称"})
DOCS = [yamlio.read_yaml(p)[0] for p in SHIPPED]

NUMBERS = [
    0, 1, -1, 2, 7, 24, 60, 1440, 1441, 100_000, 100_001, 10**9, 2**63, 2**64, 10**400,
    -(10**400), 0.0, -0.0, 0.5, 0.999, 1e-9, 5e-324, 1e9, 1e308, -1e308,
    math.nan, math.inf, -math.inf,
]  # fmt: skip
STRINGS = [
    "", " ", "all", "none", "default", "auto", "dedicated", "priority", "spread", "kangbashi",
    "Kangbashi", "dongsheng", "xuejiawan", "G18", "ordos", "ordos-123.yaml", "22:30", "25:00",
    "39.6,109.8", "91,200", "nan,nan", "place:Ordos, China", "../../etc/passwd", "/dev/zero",
    "x.osm", "x.graphml", "\x00", "a\x07b", "\x1b[2J", "\u202etxt.exe", "名称", "东胜",
    "n" * 300, "~", "null", "yes", ".inf", "0x", "1e9", "*x", "&x", "!!int 0x", "{a: 1}",
]  # fmt: skip


def _copy(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


def _subtrees(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from _subtrees(v)
    elif isinstance(node, list):
        for v in node:
            yield from _subtrees(v)


#: Values found in the shipped scenarios: plausible values in the wrong place.
FOUND = [v for doc in DOCS for v in _subtrees(doc)]

scalars = st.one_of(
    st.sampled_from(NUMBERS),
    st.sampled_from(STRINGS),
    st.integers(-(10**6), 10**6),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from([True, False, None]),
)
values = st.one_of(
    scalars,
    st.sampled_from(range(len(FOUND))).map(lambda i: _copy(FOUND[i])),
    st.lists(scalars, max_size=4),
    st.dictionaries(st.sampled_from(KEYS), scalars, max_size=3),
)


#: Numbers for fragments: ordinary, boundary and hostile.
numbers = st.one_of(
    st.sampled_from(NUMBERS),
    st.sampled_from([0.01, 0.1, 0.5, 0.9, 1, 2, 3, 8, 10, 50, 100, 999, 1000, 5000, 99_999]),
    st.integers(0, 3000),
    st.floats(0, 3000),
)
#: Sentinels in :data:`FRAGMENTS`, replaced by a drawn number or place.
N, PLACE, TEXT = object(), object(), object()
PLACES = ["kangbashi", "dongsheng", "xuejiawan", "Tianjiao", "39.6,109.8", "0,0", "dafanpu"]
#: Pieces of the language merged into a scenario with numbers drawn from :data:`numbers`:
#: plausible files with odd values where a whole-value mutation would only break the syntax.
FRAGMENTS: list[Any] = [
    {"vehicle_classes": {"coach": {"capacity": N}}},
    {"vehicle_classes": {"freight": {"capacity": N, "capacity_unit": "persons"}}},
    {"vehicle_classes": {"taxi": {"speed": {"expressway_kmh": N, "other_kmh": N, "factor": N}}}},
    {"vehicle_classes": {"bus": {"mobilisation_factor": N, "availability": N, "accept": N}}},
    {"vehicle_classes": {"hazmat": {"call": {"lognormal": {"median": N, "sigma": N}}}}},
    {"vehicle_classes": {"coach": {"mobilisation_day": {"uniform": {"low": N, "high": N}}}}},
    {"weather": {"speed_factor": N, "trip_time_spread": N, "trip_time_median": N}},
    {"dispatch": {"over_request": N, "alert": {"exponential": {"mean": N}}}},
    {"closures": [{"near": PLACE, "radius_km": N}]},
    {"closures": [{"road": "G18", "between": [PLACE, PLACE]}]},
    {"checkpoints": {"count": N, "lanes": N, "background_per_min": N, "service": N}},
    {"checkpoints": {"count": N, "green": "dedicated", "green_lanes": N, "include_central": True}},
    {"checkpoints": {"sites": [{"location": PLACE, "lanes": N, "background_per_min": N}]}},
    {"checkpoints": {"background_service": {"fixed": N}, "background_per_min": N}},
    {"tolls": {"enabled": True, "lanes": N, "background_per_min": N, "service": N}},
    {"staging": {"lanes": N, "service": {"lognormal": {"median": N, "sigma": N}}}},
    {"rules": {"deadlines_min": {"central": N}, "banner_radius_km": N, "success_fraction": N}},
    {"rules": {"scope": {"region": "central"}, "deadlines_min": {"region": N}}},
    {"fleet": {"scale": N}},
    {"fleet": {"totals": {"taxi": N, "hazmat": N}}},
    {"fleet": {"depot_counts": {"Jungar taxi": N}, "dispatchers": {"Central taxi pool": N}}},
    {"fleet": {"depots": [{"location": PLACE, "vehicles": {"bus": N}, "dispatchers": N}]}},
    {"fleet": {"base": "none", "depots": [{"location": PLACE, "vehicles": {"taxi": N}}]}},
    {"incidents": [{"location": PLACE, "demand": {"taxi": N, "coach": N}}]},
    {"incidents": [{"location": PLACE, "move": {"people": N, "tonnes": N}}]},
    {"incidents": [{"location": PLACE, "staging_point": PLACE, "demand": {"hazmat": "all"}}]},
    {"incidents": [{"location": PLACE, "demand": {"bus": N}, "deadline_min": N, "tier": "banner"}]},
    {"network": TEXT},
    {"network": {"source": TEXT, "allow_online": False}},
    {"extends": TEXT},
    {"name": TEXT, "incidents": [{"name": TEXT, "location": PLACE, "demand": {"taxi": N}}]},
    {"checkpoints": {"sites": [{"name": TEXT, "location": TEXT}]}},
    {"closures": [{"road": TEXT}]},
    {"fleet": {"operators": [{"name": TEXT, "vehicle_class": "taxi"}]}},
    {"warmup_min": N},
    {"replications": N},
    {"seed": N},
    {"start": N},
]


@st.composite
def fragment(draw: st.DrawFn) -> Any:
    """One of :data:`FRAGMENTS` with its sentinels drawn."""

    def fill(node: Any) -> Any:
        if node is N:
            return draw(numbers)
        if node is PLACE:
            return draw(st.sampled_from(PLACES))
        if node is TEXT:
            return draw(st.one_of(st.sampled_from(STRINGS), st.text(max_size=30)))
        if isinstance(node, dict):
            return {k: fill(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fill(v) for v in node]
        return node

    return fill(FRAGMENTS[draw(st.integers(0, len(FRAGMENTS) - 1))])


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: _merge(base[k], v) if k in base else v for k, v in over.items()}}
    return over


def _paths(node: Any, path: tuple = ()) -> Iterator[tuple]:
    """Every key path of a document (the root excluded), parents before children."""
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for k, v in items:
        yield (*path, k)
        yield from _paths(v, (*path, k))


def _get(doc: Any, path: tuple) -> Any:
    for k in path:
        doc = doc[k]
    return doc


#: Structural mutations, weighted towards plausible files with odd values.
OPS = ["fragment"] * 4 + ["number"] * 2 + ["delete", "retype", "swap", "add", "nest", "copy"]


@st.composite
def mutated_doc(draw: st.DrawFn, doc: Any) -> Any:
    """Apply 1 to 4 structural mutations to a copy of ``doc``."""
    doc = _copy(doc)
    for _ in range(draw(st.sampled_from([1, 1, 2, 3, 4]))):
        paths = list(_paths(doc))
        if not paths or not isinstance(doc, dict):
            break
        path = paths[draw(st.integers(0, len(paths) - 1))]
        parent, key = _get(doc, path[:-1]), path[-1]
        op = draw(st.sampled_from(OPS))
        if op == "fragment":
            doc = _merge(doc, draw(fragment()))
        elif op == "number":
            numeric = [p for p in paths if isinstance(_get(doc, p), int | float)]
            if numeric:
                path = numeric[draw(st.integers(0, len(numeric) - 1))]
                _get(doc, path[:-1])[path[-1]] = draw(numbers)
        elif op == "delete":
            del parent[key]
        elif op == "retype":
            parent[key] = _copy(draw(values))
        elif op == "swap":
            other = paths[draw(st.integers(0, len(paths) - 1))]
            if other[: len(path)] != path and path[: len(other)] != other:
                a, b = _get(doc, path), _get(doc, other)
                parent[key] = _copy(b)
                _get(doc, other[:-1])[other[-1]] = _copy(a)
        elif op == "add":
            holder = parent if isinstance(parent, dict) else doc
            holder[draw(st.sampled_from(KEYS))] = _copy(draw(values))
        elif op == "nest":
            value = parent[key]
            for _ in range(draw(st.integers(1, 80))):
                value = [value]
            parent[key] = value
        elif op == "copy" and isinstance(parent, list):
            parent.append(_copy(parent[key]))
        elif op == "copy":
            parent[draw(st.sampled_from(KEYS))] = _copy(parent[key])
    return doc


def _laughs(levels: int, width: int) -> str:
    items = ["&l0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        items.append(f"&l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "[" + ", ".join(items) + "]"


#: Text inserted as a whole line (top-level keys) or replacing a line's value.
SNIPPETS = st.one_of(
    st.builds(_laughs, st.integers(1, 8), st.integers(2, 10)),
    st.integers(1, 700).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 300).map(lambda n: "{a: " * n + "1" + "}" * n),
    st.sampled_from(
        [
            "&r [*r]",
            "&m {a: *m}",
            "*undefined",
            "!!int 0x",
            "!!int 0b",
            "!!float abc",
            "!!binary x",
            "!!timestamp 2022-13-45",
            "!!python/object/apply:os.system [echo]",
            "!!set {a, b}",
            "!!omap [a: 1, b: 2]",
            "2022-13-45",
            "1" * 5000,
            "!!str",
            "|\n  text",
            "'unterminated",
            "{",
            "- a\n- b",
        ]
    ),
)
CONTROL = st.sampled_from(["\x00", "\x07", "\x08", "\x1b", "\x7f", "\x85", "\ufeff", "\u2028"])


@st.composite
def mutated_text(draw: st.DrawFn, text: str) -> str:
    """Apply 1 to 3 textual mutations (bytes the data model cannot express)."""
    for _ in range(draw(st.integers(1, 3))):
        lines = text.split("\n")
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        op = draw(
            st.sampled_from(
                ["control", "dup-line", "drop-line", "cut", "snippet-key", "snippet-value", "alias"]
            )
        )
        if op == "control":
            pos = draw(st.integers(0, len(text)))
            text = text[:pos] + draw(CONTROL) + text[pos:]
            continue
        if op == "dup-line":
            lines.insert(i, lines[i])
        elif op == "drop-line":
            del lines[i]
        elif op == "cut":
            text = text[: draw(st.integers(0, len(text)))]
            continue
        elif op == "snippet-key":
            key = draw(st.sampled_from(["description", "name", "seed", "extends", "fleet", "x"]))
            lines.insert(0, f"{key}: {draw(SNIPPETS)}")
        elif op == "snippet-value" and ": " in lines[i]:
            head = lines[i].split(": ", 1)[0]
            lines[i] = f"{head}: {draw(SNIPPETS)}"
        elif op == "alias":
            # Anchor one value and refer to it from another line (or from itself).
            keyed = [j for j, line in enumerate(lines) if re.match(r"^\s*[\w-]+: \S", line)]
            if keyed:
                a = keyed[draw(st.integers(0, len(keyed) - 1))]
                b = keyed[draw(st.integers(0, len(keyed) - 1))]
                lines[a] = lines[a].replace(": ", ": &x ", 1)
                head = lines[b].split(": ", 1)[0]
                lines[b] = f"{head}: *x" if b != a else f"{head}: &x [*x]"
        text = "\n".join(lines)
    return text


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str]:
    """(the shipped file's name, the mutated text)."""
    k = draw(st.integers(0, len(SHIPPED) - 1))
    doc = DOCS[k]
    if draw(st.integers(0, 9)) == 0:
        text = SHIPPED[k].read_text(encoding="utf-8")  # comments and layout as shipped
    else:
        text = yaml.safe_dump(
            draw(mutated_doc(doc)), allow_unicode=True, sort_keys=False, width=10_000
        )
    if draw(st.integers(0, 3)) == 0:  # a quarter of the cases: bytes the data cannot express
        text = draw(mutated_text(text))
    return SHIPPED[k].name, text


# ---------------------------------------------------------------------------------------------
# Running a case
# ---------------------------------------------------------------------------------------------


@dataclass
class Stats:
    """What the fuzz saw."""

    exits: Counter = field(default_factory=Counter)
    slowest: tuple[float, str] = (0.0, "")
    started: float = field(default_factory=time.perf_counter)

    @property
    def cases(self) -> int:
        return sum(self.exits.values())

    def report(self) -> str:
        seconds, text = self.slowest
        return (
            f"fuzz: {self.cases} cases in {time.perf_counter() - self.started:.0f} s, exit 0: "
            f"{self.exits[0]}, exit 2: {self.exits[2]}; slowest case {seconds:.2f} s:\n{text}"
        )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding copies of every shipped scenario (for ``extends``)."""
    folder = tmp_path_factory.mktemp("fuzz")
    for path in SHIPPED:
        shutil.copyfile(path, folder / path.name)  # follows the ordos-123.yaml link
    code, _, err = cli("validate", folder / "ordos-123.yaml")  # loads the network once
    assert code == 0, err
    return folder


def check_case(folder: Path, name: str, text: str, stats: Stats) -> None:
    """Validate and run one mutated file; assert the promises of the module docstring."""
    case = folder / f"case-{name}"
    case.write_text(text, encoding="utf-8", errors="surrogatepass")
    out = folder / "out"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    with budget(CASE_BUDGET_S):
        code_v, _, err_v = cli("validate", case)
        code_r, _, err_r = cli("run", case, "--reps", 1, "--no-figures", "--quiet", "--out", out)
    elapsed = time.perf_counter() - start
    where = f"\n--- case ({name}) ---\n{text[:3000]}\n--- validate ---\n{err_v[:3000]}"
    where += f"\n--- run ---\n{err_r[:3000]}"
    assert code_v in (0, 2), where
    assert code_r == code_v, where
    assert not TRACEBACK.search(err_v) and not TRACEBACK.search(err_r), where
    if code_v == 2:
        assert err_v.strip() and err_r.strip(), where
        assert not out.exists(), where
    else:
        assert (out / MARKER).is_file() and (out / "summary.json").is_file(), where
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".out.")], where
    stats.exits[code_v] += 1
    if elapsed > stats.slowest[0]:
        stats.slowest = (elapsed, f"{name}:\n{text[:2000]}")


def test_fuzz_mutated_scenarios(workdir: Path) -> None:
    stats = Stats()
    limit = None if EXAMPLES else DEFAULT_SECONDS

    @settings(settings.get_profile("fleetsim-fuzz"))
    @given(case=cases())
    def fuzz(case: tuple[str, str]) -> None:
        if limit is not None and time.perf_counter() - stats.started > limit:
            return  # the time bound of an ordinary test run
        check_case(workdir, *case, stats)

    fuzz()
    print(stats.report())
    assert stats.cases >= 20
    assert stats.exits[0] > 0 and stats.exits[2] > 0  # both valid and invalid files were made
