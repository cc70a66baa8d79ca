"""Run one ``fleetsim`` command in this process and record its peak memory.

``python -m benchmarks._job REPORT.json -- ARGS...`` runs ``fleetsim ARGS...`` (its stdout
goes to stdout) and writes ``REPORT.json`` with the exit code, the command's wall time
inside this process, the peak resident set size of this process and of the largest worker
process it waited for (``RUSAGE_CHILDREN``), in MiB, and the CPU seconds of both.

This process's peak is ``VmHWM`` from ``/proc/self/status`` where it exists: ``ru_maxrss`` of
``RUSAGE_SELF`` also counts the process that started this one as it was before ``exec`` (a
forked copy of a large benchmark process would count in full).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def _vm_hwm_kib(default: float) -> float:
    """Peak resident set size of this process image in KiB (``VmHWM``), else ``default``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
    except OSError:  # pragma: no cover - not Linux
        pass
    return default


def main(argv: list[str]) -> int:
    """Run the command, write the report; return the command's exit code."""
    report, sep, *args = argv
    if sep != "--":
        raise SystemExit("usage: python -m benchmarks._job REPORT.json -- ARGS...")
    from sim.cli import main as fleetsim

    start = time.perf_counter()
    code = fleetsim(args)
    elapsed = time.perf_counter() - start
    kib = 1024.0  # ru_maxrss is in KiB on Linux
    me = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    data = {
        "exit_code": code,
        "in_process_s": elapsed,
        "parent_peak_rss_mib": _vm_hwm_kib(me.ru_maxrss) / kib,
        "max_worker_peak_rss_mib": workers.ru_maxrss / kib,
        "parent_cpu_s": me.ru_utime + me.ru_stime,
        "workers_cpu_s": workers.ru_utime + workers.ru_stime,
    }
    Path(report).write_text(json.dumps(data) + "\n", encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
