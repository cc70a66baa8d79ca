"""Run every ``benchmarks/bench_*.py`` module: ``python -m benchmarks [--quick] [NAME ...]``.

With names (``network``, or ``bench_network``), only those modules run. Each module's
``main()`` prints a table and writes ``benchmarks/results/<module>.json``. ``--quick`` is
passed to the modules that take it (``main(quick=True)``: one run instead of the median of
three, smaller subsets) for a fast check; the acceptance numbers come from a full run.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmark modules (all by default); return the exit status."""
    argv = list(argv or [])
    quick = "--quick" in argv
    names = [a for a in argv if a != "--quick"]
    wanted = {name.removeprefix("bench_").removesuffix(".py") for name in names}
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    selected = [m for m in modules if not wanted or m.removeprefix("bench_") in wanted]
    unknown = wanted - {m.removeprefix("bench_") for m in modules}
    if unknown:
        print(f"benchmarks: unknown benchmark(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    for name in selected:
        print(f"== {name} ==", flush=True)
        start = time.perf_counter()
        entry = importlib.import_module(f"{__package__}.{name}").main
        if quick and "quick" in inspect.signature(entry).parameters:
            entry(quick=True)
        else:
            entry()
        print(f"({name}: {time.perf_counter() - start:.1f} s)\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
