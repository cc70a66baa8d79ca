"""Reading scenario YAML: a safe loader that keeps line numbers, and ``extends`` chains.

Private helper of :mod:`sim.scenario`. Everything is loaded with a subclass of
``yaml.SafeLoader`` (no Python objects can be constructed from a file) that differs from it in
one way: YAML 1.1's base-60 numbers are off, so an unquoted ``start: 22:30`` is the text
``"22:30"``, not the number 1350. Problems are returned, never raised, so that a caller can
report every problem of a file at once.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

#: Key path inside a document: mapping keys as ``str``, sequence positions as ``int``.
KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Mark:
    """Where a value was written: file, 1-based line and column."""

    file: str
    line: int
    column: int


@dataclass(frozen=True)
class RawProblem:
    """A problem found while reading: file, key path, message, optional line/column."""

    file: str
    path: KeyPath
    message: str
    line: int | None = None
    column: int | None = None


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` without YAML 1.1 base-60 (sexagesimal) ints and floats."""


_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _INT,
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def display(path: str | os.PathLike[str]) -> str:
    """The file name as shown in messages: relative to the working directory when inside it."""
    p = Path(path)
    try:
        return str(p.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def _walk(
    node: yaml.Node, path: KeyPath, file: str, marks: dict[KeyPath, Mark], out: list[RawProblem]
) -> None:
    marks[path] = Mark(file, node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            line = key_node.start_mark.line + 1
            if key in seen and key != "<<":
                out.append(
                    RawProblem(
                        file,
                        (*path, key),
                        f"duplicate key {key!r} (first written on line {seen[key]}); "
                        "YAML would silently keep only the last one",
                        line,
                        key_node.start_mark.column + 1,
                    )
                )
            seen.setdefault(key, line)
            _walk(value_node, (*path, key), file, marks, out)
            marks[(*path, key)] = Mark(file, line, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), file, marks, out)


def read_yaml(path: Path) -> tuple[Any, dict[KeyPath, Mark], list[RawProblem]]:
    """Parse one YAML file safely.

    Returns
    -------
    tuple
        The data (``None`` on failure), the mark of every key path, and the problems: the
        file cannot be read, a YAML syntax error (with line and column), duplicate keys.
    """
    file = display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, {}, [RawProblem(file, (), "file not found")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, {}, [RawProblem(file, (), f"cannot read the file: {exc}")]
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        return (
            None,
            {},
            [
                RawProblem(
                    file,
                    (),
                    f"YAML error: {exc.problem} (scenario files are plain YAML: no tags such "
                    "as !!python/...)",
                    mark.line + 1 if mark else None,
                    mark.column + 1 if mark else None,
                )
            ],
        )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = str(exc.problem or "invalid YAML")
        if exc.context:
            at = exc.context_mark
            where = f" (line {at.line + 1}, column {at.column + 1})" if at else ""
            what = f"{what}, {exc.context}{where}"
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        return None, {}, [RawProblem(file, (), f"YAML syntax error: {what}", line, col)]
    except yaml.YAMLError as exc:
        return None, {}, [RawProblem(file, (), f"YAML error: {exc}")]
    finally:
        loader.dispose()
    marks: dict[KeyPath, Mark] = {}
    problems: list[RawProblem] = []
    if node is not None:
        _walk(node, (), file, marks, problems)
    return data, marks, problems


def _value_at(data: Any, path: KeyPath) -> tuple[bool, Any]:
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return False, None
    return True, data


def deep_merge(base: Any, override: Any) -> Any:
    """Merge ``override`` over ``base``: mappings recursively, anything else replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = deep_merge(base[key], value) if key in base else value
        return out
    return override


def _merge_marks(
    base: dict[KeyPath, Mark], child: dict[KeyPath, Mark], child_data: Any
) -> dict[KeyPath, Mark]:
    """Marks of a merged document: the child's, plus the base's not replaced by the child."""
    out = dict(child)
    for path, mark in base.items():
        if path in out:
            continue
        replaced = False
        for k in range(1, len(path) + 1):
            found, value = _value_at(child_data, path[:k])
            if found and not isinstance(value, dict):
                replaced = True
                break
        if not replaced:
            out[path] = mark
    return out


#: Keys that a file never inherits through ``extends`` (they describe the file itself).
NOT_INHERITED: tuple[str, ...] = ("name", "description", "provenance")


def _resolve_paths(data: dict[str, Any], folder: Path) -> None:
    """Make a relative network file path absolute, against the file that wrote it."""
    net = data.get("network")
    holder, key = (data, "network") if isinstance(net, str) else (net, "source")
    if not isinstance(holder, dict):
        return
    source = holder.get(key)
    if not isinstance(source, str) or source == "ordos" or source.startswith("place:"):
        return
    if not os.path.isabs(source):
        holder[key] = os.path.normpath(str(folder / source))


def load_tree(
    path: Path, chain: tuple[Path, ...] = ()
) -> tuple[Any, dict[KeyPath, Mark], list[RawProblem]]:
    """Load a scenario file and everything it ``extends``, merged.

    ``extends: FILE`` (relative to the file) loads FILE first and deep-merges this file over
    it: mappings merge key by key, lists and scalars replace. Chains are allowed; a cycle is a
    problem. ``name``, ``description`` and ``provenance`` are not inherited. Relative network
    paths are made absolute against the file that wrote them, before merging.
    """
    file = display(path)
    resolved = path.resolve()
    data, marks, problems = read_yaml(path)
    if data is None and not problems:
        return None, marks, [RawProblem(file, (), "the file is empty; a scenario is a mapping")]
    if problems and data is None:
        return None, marks, problems
    if not isinstance(data, dict):
        mark = marks.get(())
        return (
            None,
            marks,
            [
                *problems,
                RawProblem(
                    file,
                    (),
                    f"a scenario is a mapping of keys (network:, incidents:, ...), "
                    f"got {type(data).__name__}",
                    mark.line if mark else None,
                    mark.column if mark else None,
                ),
            ],
        )
    _resolve_paths(data, path.absolute().parent)
    if "extends" not in data:
        return data, marks, problems
    ext = data.pop("extends")
    mark = marks.get(("extends",))
    line, col = (mark.line, mark.column) if mark else (None, None)
    if not isinstance(ext, str) or not ext.strip():
        problems.append(
            RawProblem(
                file, ("extends",), f"must be the path of a scenario file, got {ext!r}", line, col
            )
        )
        return data, marks, problems
    target = path.parent / ext
    if target.resolve() in (*chain, resolved):
        names = " -> ".join(display(p) for p in (*chain, resolved, target.resolve()))
        problems.append(RawProblem(file, ("extends",), f"extends cycle: {names}", line, col))
        return data, marks, problems
    if not target.is_file():
        problems.append(
            RawProblem(
                file,
                ("extends",),
                f"{ext!r}: file not found (looked for {display(target)})",
                line,
                col,
            )
        )
        return data, marks, problems
    base, base_marks, base_problems = load_tree(target, (*chain, resolved))
    problems = base_problems + problems
    if not isinstance(base, dict):
        return data, marks, problems
    for key in NOT_INHERITED:
        base.pop(key, None)
        base_marks = {p: m for p, m in base_marks.items() if not (p and p[0] == key)}
    merged = deep_merge(base, data)
    return merged, _merge_marks(base_marks, marks, data), problems
