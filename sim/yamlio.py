"""Reading scenario YAML: a safe loader that keeps line numbers, and ``extends`` chains.

Private helper of :mod:`sim.scenario`. Everything is loaded with a subclass of
``yaml.SafeLoader`` (no Python objects can be constructed from a file) that differs from it in
three ways: YAML 1.1's base-60 numbers are off, so an unquoted ``start: 22:30`` is the text
``"22:30"``, not the number 1350; nesting is bounded (:data:`sim.limits.MAX_YAML_DEPTH`); and
the values a document stands for once its aliases are expanded are counted while it is
composed, so a "billion laughs" file or a recursive alias is refused at once
(:data:`sim.limits.MAX_YAML_NODES`). Problems are returned, never raised, so that a caller can
report every problem of a file at once; a file that cannot be read (a control character, a
value its tag cannot hold, a path the system refuses) is such a problem too.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from sim.limits import (
    MAX_EXTENDS_DEPTH,
    MAX_FILE_BYTES,
    MAX_PATH_CHARS,
    MAX_PATH_PART_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
)

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
    """``yaml.SafeLoader`` without YAML 1.1 base-60 (sexagesimal) ints and floats, with bounded
    nesting and alias expansion, and with every constructor failure a marked YAML error."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._sizes: dict[int, int] = {}  # id(node) -> values it stands for, once composed
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self._sizes:
                raise ComposerError(
                    None,
                    None,
                    f"the alias *{event.anchor} stands for a value that contains it (a "
                    "recursive alias)",
                    event.start_mark,
                )
            return super().compose_node(parent, index)
        if self._depth >= MAX_YAML_DEPTH:
            raise ComposerError(
                None,
                None,
                f"values nested more than {MAX_YAML_DEPTH} levels deep (the limit)",
                self.peek_event().start_mark,
            )
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        else:
            children = []
        size = 1 + sum(self._sizes[id(c)] for c in children)
        if size > MAX_YAML_NODES:
            raise ComposerError(
                None,
                None,
                f"this value stands for more than {MAX_YAML_NODES:,} values once its aliases "
                "(*name) are expanded (the limit)",
                node.start_mark,
            )
        self._sizes[id(node)] = size
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, ArithmeticError) as exc:
            tag = node.tag.rsplit(":", 1)[-1]
            raise ConstructorError(
                None, None, f"{node.value!r} cannot be read as {tag}: {exc}", node.start_mark
            ) from None


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
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            message = f"the file has {size:,} bytes, more than the limit of {MAX_FILE_BYTES:,}"
            return None, {}, [RawProblem(file, (), message)]
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, {}, [RawProblem(file, (), "file not found")]
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError, as is a NUL
        return None, {}, [RawProblem(file, (), f"cannot read the file: {exc}")]
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        what = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        message = (
            f"YAML error: character {what} is not allowed (a control character; scenario "
            "files are plain UTF-8 text)"
        )
        return None, {}, [RawProblem(file, (), message, line, column)]
    except (ConstructorError, ComposerError) as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"YAML error: {f'{exc.context}, ' if exc.context else ''}{exc.problem}"
        if "could not determine a constructor" in str(exc.problem):
            message += " (scenario files are plain YAML: no tags such as !!python/...)"
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        return None, {}, [RawProblem(file, (), message, line, column)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = str(exc.problem or "invalid YAML")
        if exc.context:
            at = exc.context_mark
            where = f" (line {at.line + 1}, column {at.column + 1})" if at else ""
            what = f"{what}, {exc.context}{where}"
        if "'\\t'" in what:
            what += " (indent with spaces, not tabs)"
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        return None, {}, [RawProblem(file, (), f"YAML syntax error: {what}", line, col)]
    except yaml.YAMLError as exc:
        return None, {}, [RawProblem(file, (), f"YAML error: {exc}")]
    finally:
        if loader is not None:
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


def _bad_extends(ext: object) -> str | None:
    """What is wrong with an ``extends`` value as a path, or ``None``."""
    if not isinstance(ext, str) or not ext.strip():
        return f"must be the path of a scenario file, got {ext!r}"
    if any(ord(c) < 32 or ord(c) == 127 for c in ext):
        return f"must be a file path without control characters, got {ext!r}"
    if len(ext) > MAX_PATH_CHARS:
        return f"a path of {len(ext):,} characters, more than the limit of {MAX_PATH_CHARS:,}"
    for part in re.split(r"[/\\]", ext):
        if len(part.encode("utf-8", "surrogatepass")) > MAX_PATH_PART_BYTES:
            return (
                f"the path part {part[:20]!r}... has {len(part.encode('utf-8', 'surrogatepass'))} "
                f"bytes, more than the limit of {MAX_PATH_PART_BYTES} (file-name length)"
            )
    return None


def load_tree(
    path: Path, chain: tuple[Path, ...] = ()
) -> tuple[Any, dict[KeyPath, Mark], list[RawProblem]]:
    """Load a scenario file and everything it ``extends``, merged.

    ``extends: FILE`` (relative to the file) loads FILE first and deep-merges this file over
    it: mappings merge key by key, lists and scalars replace. Chains are allowed up to
    :data:`sim.limits.MAX_EXTENDS_DEPTH` files; a cycle is a problem. ``name``,
    ``description`` and ``provenance`` are not inherited. Relative network paths are made
    absolute against the file that wrote them, before merging.
    """
    file = display(path)
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
    bad = _bad_extends(ext)
    if bad is None and len(chain) + 1 >= MAX_EXTENDS_DEPTH:
        bad = (
            f"an extends chain of more than {MAX_EXTENDS_DEPTH} files (the limit), from "
            f"{display(chain[0] if chain else path)}"
        )
    if bad is not None:
        problems.append(RawProblem(file, ("extends",), bad, line, col))
        return data, marks, problems
    target = path.parent / ext
    try:
        resolved, target_resolved = path.resolve(), target.resolve()
        is_file = target.is_file()
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop is a RuntimeError
        problems.append(RawProblem(file, ("extends",), f"{ext!r}: cannot open: {exc}", line, col))
        return data, marks, problems
    if target_resolved in (*chain, resolved):
        names = " -> ".join(display(p) for p in (*chain, resolved, target_resolved))
        problems.append(RawProblem(file, ("extends",), f"extends cycle: {names}", line, col))
        return data, marks, problems
    if not is_file:
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
    if len(base_marks) + len(marks) > MAX_YAML_NODES:
        message = (
            f"with the files it extends, more than {MAX_YAML_NODES:,} values (the limit of one "
            "scenario)"
        )
        return data, marks, [*problems, RawProblem(file, ("extends",), message, line, col)]
    for key in NOT_INHERITED:
        base.pop(key, None)
        base_marks = {p: m for p, m in base_marks.items() if not (p and p[0] == key)}
    merged = deep_merge(base, data)
    return merged, _merge_marks(base_marks, marks, data), problems
