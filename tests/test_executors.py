"""Executors: serial, local processes and a Dask cluster give byte-identical results.

The Dask cluster is a ``LocalCluster`` of two worker processes on the loopback interface,
started once for this module and closed at its end.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

import pytest
from distributed import LocalCluster

from sim.builtin import ordos_123
from sim.cli import main
from sim.errors import ValidationError
from sim.executors import DaskExecutor, ProcessExecutor, SerialExecutor, make_executor
from sim.experiment import run
from sim.outputs import incidents_csv, json_text
from sim.sweeps import sweep


@pytest.fixture(scope="module")
def cluster():
    """A two-process Dask cluster on 127.0.0.1 (closed after the module)."""
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",  # any free port: 8787 may be taken by another cluster
    ) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def scheduler(cluster):
    """The cluster's scheduler address, ``tcp://127.0.0.1:PORT``."""
    return cluster.scheduler_address


@pytest.fixture(scope="module")
def scenario():
    return ordos_123(replications=10)


def test_make_executor_picks_the_executor():
    assert isinstance(make_executor(1), SerialExecutor)
    pool = make_executor(2)
    assert isinstance(pool, ProcessExecutor) and pool.slots == 2
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValidationError, match="workers"):
            make_executor(bad)


def test_run_is_byte_identical_serial_processes_dask(ordos, scenario, scheduler):
    outputs = []
    for kwargs in ({"workers": 1}, {"workers": 2}, {"scheduler": scheduler}):
        result = run(scenario, network=ordos, **kwargs)
        outputs.append((json_text(result.summary), incidents_csv(result)))
    assert outputs[0] == outputs[1] == outputs[2]
    assert json.loads(outputs[0][0])["replications"] == 10


def test_sweep_is_byte_identical_serial_processes_dask(ordos, scenario, scheduler):
    texts = [
        json_text(sweep(scenario, "seats", network=ordos, replications=6, **kwargs).to_json())
        for kwargs in ({"workers": 1}, {"workers": 2}, {"scheduler": scheduler})
    ]
    assert texts[0] == texts[1] == texts[2]
    assert len(json.loads(texts[0])["rows"]) == 9


def test_compare_is_byte_identical_on_dask(ordos, scheduler):
    from sim.comparison import compare

    a = ordos_123(replications=6)
    b = dataclasses.replace(a, over_request=1.0)
    texts = [
        json_text(compare(a, b, network=ordos, **kwargs).to_json())
        for kwargs in ({"workers": 1}, {"workers": 2}, {"scheduler": scheduler})
    ]
    assert texts[0] == texts[1] == texts[2]


def test_dask_executor_keeps_submission_order(scheduler):
    with DaskExecutor(scheduler) as ex:
        assert ex.slots == 2
        assert list(ex.map(pow, [(2, k) for k in range(12)])) == [2**k for k in range(12)]
        assert list(ex.map(pow, [])) == []


def test_ctrl_c_on_dask_cancels_and_the_cluster_stays_usable(ordos, scenario, cluster):
    scheduler = cluster.scheduler_address
    calls = []

    def progress(n: int) -> None:
        calls.append(n)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(scenario, network=ordos, replications=40, scheduler=scheduler, progress=progress)
    assert len(calls) == 2
    deadline = time.monotonic() + 10
    while cluster.scheduler.tasks and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not cluster.scheduler.tasks  # queued chunks cancelled, nothing left running
    again = run(scenario, network=ordos, replications=4, scheduler=scheduler)
    assert again.summary == run(scenario, network=ordos, replications=4).summary


def test_cli_reads_the_scheduler_from_the_environment(monkeypatch, capsys, scheduler):
    args = ["run", "ordos-123", "--reps", "4", "--json", "-q"]
    assert main(args) == 0
    local = capsys.readouterr().out
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", scheduler)
    assert main(args) == 0
    assert capsys.readouterr().out == local
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS")
    assert main([*args, "--scheduler", scheduler]) == 0
    assert capsys.readouterr().out == local


def test_dask_not_installed_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    with pytest.raises(ValidationError, match=r"Dask is not installed.*fleetsim\[dask\]"):
        make_executor(scheduler="tcp://127.0.0.1:8786")
    code = main(["run", "ordos-123", "--reps", "2", "-q", "--scheduler", "tcp://127.0.0.1:8786"])
    assert code == 2
    assert "Dask is not installed" in capsys.readouterr().err


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(ValidationError, match="cannot connect to the Dask scheduler"):
        DaskExecutor("tcp://127.0.0.1:9", timeout=0.5)
