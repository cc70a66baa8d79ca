"""Hostile scenario files (issue 12): each is refused fast with exit 2 and a located message.

One test per case that broke: alias bombs, recursion and deep nesting, control characters,
values a tag cannot hold, hostile ``extends`` paths and chains, malformed class lists, long
names turned into file names, and values that validated but could not finish (an overloaded
checkpoint, a billion vehicles, a warm-up of a billion minutes, huge distributions, lanes or
replications). Every refusal goes through ``fleetsim validate`` and ``fleetsim run --out`` and
must name the file, line, column (when known) and key path, print no traceback, write
nothing, and take seconds, not minutes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sim import limits
from sim.outputs import slug
from tests.guards import TRACEBACK, budget, cli

REPO = Path(__file__).resolve().parents[1]
INCIDENT = "incidents: [{location: kangbashi, demand: {taxi: 2}}]\n"
#: Seconds a refusal may take (the network loads once per process; the rest is fast).
FAST_S = 20.0


def write(folder: Path, text: str, name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_bytes(text.encode("utf-8"))
    return path


def extends_checkpoints(folder: Path, text: str) -> Path:
    """A file extending the shipped ``checkpoints-2022`` (and its ``ordos-123``)."""
    return write(folder, f"extends: {REPO / 'scenarios' / 'checkpoints-2022.yaml'}\n{text}")


def assert_refused(path: Path, where: str, *fragments: str, file: str | None = None) -> str:
    """``validate`` and ``run --out`` exit 2, fast, with ``where`` (``line:col: key.path``)
    after the file name (``file``, default ``path``'s) and every fragment in the message;
    nothing is written."""
    out = path.parent / "out"
    with budget(FAST_S):
        code_v, stdout_v, err_v = cli("validate", path)
        code_r, stdout_r, err_r = cli("run", path, "--reps", 1, "--quiet", "--out", out)
    for code, stdout, err in ((code_v, stdout_v, err_v), (code_r, stdout_r, err_r)):
        assert code == 2, err
        assert stdout == ""
        assert not TRACEBACK.search(err), err
        assert re.search(rf"{re.escape(file or path.name)}:{where}", err), err
        for fragment in fragments:
            assert fragment in err, err
    assert not out.exists()
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".out.")]
    return err_v


# ---------------------------------------------------------------------------------------------
# Reading: aliases, nesting, bytes, tags
# ---------------------------------------------------------------------------------------------


def laughs(levels: int) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"[: levels - 1], strict=False):
        lines.append(f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_at_once(tmp_path: Path) -> None:
    text = laughs(7)
    assert len(text.encode()) <= 405  # 9**7 = 4.8 million values from a few hundred bytes
    path = write(tmp_path, text + INCIDENT)
    assert_refused(path, r"\d+:\d+: ", f"more than {limits.MAX_YAML_NODES:,} values", "aliases")


def test_recursive_alias_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "description: &r [*r]\n" + INCIDENT)
    assert_refused(path, "1:18: ", "recursive alias")


def test_deep_nesting_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "description: " + "[" * 600 + "]" * 600 + "\n" + INCIDENT)
    assert_refused(path, r"1:\d+: ", f"more than {limits.MAX_YAML_DEPTH} levels deep")


@pytest.mark.parametrize("char", ["\x00", "\x07"], ids=["NUL", "BEL"])
def test_control_character_in_the_file_is_a_problem(tmp_path: Path, char: str) -> None:
    path = write(tmp_path, f"name: a{char}b\n" + INCIDENT)
    assert_refused(path, "1:8: ", f"#x{ord(char):04x} is not allowed")


def test_value_its_tag_cannot_hold_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "seed: !!int 0x\n" + INCIDENT)
    assert_refused(path, "1:7: ", "'0x' cannot be read as int")


# ---------------------------------------------------------------------------------------------
# extends: hostile paths and chains
# ---------------------------------------------------------------------------------------------


def test_extends_with_a_nul_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, 'extends: "base\\0.yaml"\n' + INCIDENT)
    assert_refused(path, "1:1: extends: ", "without control characters")


def test_extends_with_a_300_character_name_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, f"extends: {'x' * 300}.yaml\n" + INCIDENT)
    assert_refused(path, "1:1: extends: ", f"more than the limit of {limits.MAX_PATH_PART_BYTES}")


def test_extends_path_over_the_length_limit_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, f"extends: {'a/' * 600}s.yaml\n" + INCIDENT)
    assert_refused(path, "1:1: extends: ", f"more than the limit of {limits.MAX_PATH_CHARS:,}")


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_extends_through_a_symlink_loop_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "b.yaml").symlink_to("a.yaml")
    path = write(tmp_path, "extends: a.yaml\n" + INCIDENT)
    assert_refused(path, "1:1: extends: ", "'a.yaml': cannot open")


def test_extends_chain_over_the_depth_limit_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path, INCIDENT, "f0.yaml")
    for i in range(1, 1199):
        write(tmp_path, f"extends: f{i - 1}.yaml\n", f"f{i}.yaml")
    # Reported where the chain passes the limit, naming the file it started from.
    last = 1198 - limits.MAX_EXTENDS_DEPTH + 1
    err = assert_refused(
        tmp_path / "f1198.yaml",
        "1:1: extends: ",
        f"an extends chain of more than {limits.MAX_EXTENDS_DEPTH} files (the limit)",
        file=f"f{last}.yaml",
    )
    assert err.rstrip().endswith("f1198.yaml")


def test_extends_chain_at_the_depth_limit_loads(tmp_path: Path) -> None:
    write(tmp_path, INCIDENT + "replications: 1\n", "f0.yaml")
    for i in range(1, limits.MAX_EXTENDS_DEPTH):
        write(tmp_path, f"extends: f{i - 1}.yaml\n", f"f{i}.yaml")
    code, _, err = cli("validate", tmp_path / f"f{limits.MAX_EXTENDS_DEPTH - 1}.yaml")
    assert code == 0, err


# ---------------------------------------------------------------------------------------------
# Schema: malformed values that used to crash
# ---------------------------------------------------------------------------------------------


def test_nested_list_of_classes_is_a_schema_error(tmp_path: Path) -> None:
    path = write(
        tmp_path, "incidents: [{location: kangbashi, move: {tonnes: 10, tonnes_by: [[freight]]}}]\n"
    )
    assert_refused(path, r"1:\d+: incidents\[0\]\.move\.tonnes_by: ", "a list of class names")


# ---------------------------------------------------------------------------------------------
# Names turned into file names
# ---------------------------------------------------------------------------------------------


def test_slug_is_bounded_and_keeps_long_names_apart() -> None:
    a, b = "n" * 300, "n" * 299 + "m"
    assert len(slug(a)) <= limits.MAX_SLUG_CHARS and len(slug(b)) <= limits.MAX_SLUG_CHARS
    assert slug(a) != slug(b)
    assert slug("Kangbashi taxis") == "kangbashi-taxis"  # short names as before


def test_300_character_incident_name_with_out_writes_its_figures(tmp_path: Path) -> None:
    name = "n" * 300
    path = write(
        tmp_path,
        f"incidents: [{{name: {name}, location: kangbashi, demand: {{taxi: 2}}}}]\n"
        "replications: 1\n",
    )
    out = tmp_path / "out"
    code, _, err = cli("run", path, "--quiet", "--out", out)
    assert code == 0, err
    figures = sorted(p.name for p in out.glob("*.png"))
    assert len(figures) == 4  # map, breakdown, arrival and cdf of the incident
    assert all(len(f) < 100 for f in figures)


# ---------------------------------------------------------------------------------------------
# Semantic bounds: what validated and then could not finish
# ---------------------------------------------------------------------------------------------


def test_overloaded_checkpoint_is_refused(tmp_path: Path) -> None:
    path = extends_checkpoints(tmp_path, "checkpoints: {background_per_min: 25}\n")
    assert_refused(
        path,
        r"\d+:\d+: checkpoints\.background_per_min: ",
        "ordinary traffic alone loads its 1 lane at 28.3",
        "its queue grows without end",
    )


def test_overloaded_site_and_toll_plaza_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "checkpoints:\n"
        "  sites: [{location: dongsheng, lanes: 2, service: 1, background_per_min: 3}]\n"
        "tolls: {enabled: true, background_per_min: 30, service: 0.5, lanes: 8}\n" + INCIDENT,
    )
    err = assert_refused(path, r"\d+:\d+: ", "grows without end")
    assert "checkpoints.sites[0].background_per_min" in err
    assert "tolls.background_per_min" in err


def test_load_too_close_to_one_is_refused_naming_the_warmup_limit(tmp_path: Path) -> None:
    # 0.88 vehicles/min x 1.13 min on one lane: a load of 0.997 would need millions of
    # minutes of warm-up to reach a steady state (at 0.8, the shipped value, about 2,400).
    path = extends_checkpoints(tmp_path, "checkpoints: {background_per_min: 0.88}\n")
    assert_refused(
        path,
        r"\d+:\d+: checkpoints\.background_per_min: ",
        "minutes of warm-up to reach a steady state, more than the limit of "
        f"{limits.MAX_STEADY_WARMUP_MIN:,g}",
    )


def test_overloaded_ordinary_lanes_beside_a_dedicated_green_lane_validate(tmp_path: Path) -> None:
    # The fleet has lanes of its own: ordinary traffic is not looked at (as when planning).
    path = write(
        tmp_path,
        "checkpoints:\n  sites: [{location: dongsheng, lanes: 1, service: 1, "
        "background_per_min: 2, green: dedicated}]\n" + INCIDENT,
    )
    code, _, err = cli("validate", path)
    assert code == 0, err


def test_too_much_ordinary_traffic_per_replication_is_refused(tmp_path: Path) -> None:
    # 85 checkpoints x 60 vehicles/min on 100 lanes each: stable, but some 7 million ordinary
    # vehicles in every replication.
    path = extends_checkpoints(tmp_path, "checkpoints: {background_per_min: 60, lanes: 100}\n")
    assert_refused(
        path,
        r"\d+:\d+: checkpoints: ",
        f"vehicles per replication, more than the limit of {limits.MAX_ORDINARY_VEHICLES:,}",
    )


def test_loaded_but_stable_checkpoints_still_validate(tmp_path: Path) -> None:
    # 0.8 vehicles/min x 1.13 min = 0.91 of the one lane: busy, but it settles.
    code, _, err = cli("validate", REPO / "scenarios" / "checkpoints-2022.yaml")
    assert code == 0, err


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        (
            "fleet: {totals: {taxi: 1000000000}}\n",
            r"2:\d+: fleet\.totals\.taxi: ",
            f"at most {limits.MAX_VEHICLES:,} (the limit)",
        ),
        (
            "fleet: {scale: 60}\n",
            r"\d+:\d+: fleet(\.scale)?: ",
            f"limit of {limits.MAX_VEHICLES:,}",
        ),
        ("warmup_min: 1.0e+9\n", r"\d+:\d+: warmup_min: ", "at most 1,440 minutes (the limit)"),
        (
            "checkpoints: {service: {lognormal: {median: 1.0e+9, sigma: 0.5}}}\n",
            r"\d+:\d+: checkpoints\.service: ",
            "lognormal.median must be at most 1,440 minutes",
        ),
        (
            "checkpoints: {service: {lognormal: {median: 1, sigma: 24}}}\n",
            r"\d+:\d+: checkpoints\.service: ",
            f"lognormal.sigma must be at most {limits.MAX_SIGMA:g} (the limit)",
        ),
        (
            f"checkpoints: {{lanes: {10**400}}}\n",
            r"\d+:\d+: checkpoints\.lanes: ",
            f"at most {limits.MAX_LANES:,} (the limit), got an integer of about 401 digits",
        ),
        (
            "replications: 1000000000\n",
            r"\d+:\d+: replications: ",
            f"at most {limits.MAX_REPLICATIONS:,} (the limit)",
        ),
        (
            "checkpoints: {background_per_min: 1000, lanes: 1000, service: 0.1}\n",
            r"\d+:\d+: checkpoints\.background_per_min: ",
            f"at most {limits.MAX_BACKGROUND_PER_MIN:g} vehicles/min (the limit)",
        ),
        (
            "dispatch: {over_request: 1.0e+308}\n",
            r"\d+:\d+: dispatch\.over_request: ",
            f"at most {limits.MAX_OVER_REQUEST:g} (the limit)",
        ),
    ],
    ids=[
        "fleet",
        "fleet-scale",
        "warmup",
        "median",
        "sigma",
        "lanes",
        "replications",
        "background",
        "over-request",
    ],
)
def test_values_that_cannot_finish_are_refused_naming_the_limit(
    tmp_path: Path, text: str, where: str, fragment: str
) -> None:
    assert_refused(extends_checkpoints(tmp_path, text), where, fragment)


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        (
            "vehicle_classes: {bus: {mobilisation_factor: 100}}\n",
            r"\d+:\d+: vehicle_classes\.bus: ",
            "mobilisation_day is a lognormal distribution whose median is 2,000 minutes, more "
            "than the limit of 1,440",
        ),
        (
            "vehicle_classes:\n" + "".join(f"  own{i}: {{like: taxi}}\n" for i in range(46)),
            r"\d+:\d+: vehicle_classes: ",
            f"51 vehicle classes with the 5 defaults, more than the limit of "
            f"{limits.MAX_VEHICLE_CLASSES}",
        ),
    ],
    ids=["scaled-delay", "classes"],
)
def test_what_the_resolved_scenario_could_not_say_is_refused_before_the_run(
    tmp_path: Path, text: str, where: str, fragment: str
) -> None:
    # scenario.resolved.yaml is written after the simulation and must load again: a scenario
    # it could not express must be refused by validation, not after the run.
    assert_refused(write(tmp_path, text + INCIDENT), where, fragment)


def test_reps_on_the_command_line_are_bounded(tmp_path: Path) -> None:
    path = write(tmp_path, INCIDENT)
    with budget(FAST_S):
        code, _, err = cli("run", path, "--reps", 10**9, "--quiet")
    assert code == 2
    assert f"at most {limits.MAX_REPLICATIONS:,} (the limit)" in err
