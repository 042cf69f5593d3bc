"""The runners: parsing --cluster, results in order, shared arguments, errors, a killed worker."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from skintrial.cluster import (
    DaskRunner,
    InProcess,
    as_runner,
    chunk_bounds,
    cluster_from_env,
    connect,
    parse_cluster,
)
from skintrial.errors import InputError

sys.path.insert(0, str(Path(__file__).parent))  # worker processes start with this sys.path
from cluster_tasks import fail_on_three, square  # noqa: E402  (a module workers can import)


@pytest.mark.parametrize(
    ("text", "address", "workers"),
    [("local", None, None), ("local:3", None, 3), (" tcp://10.1.2.3:8786 ", "tcp://10.1.2.3:8786", None)],
)
def test_parse_cluster(text, address, workers):
    spec = parse_cluster(text)
    assert spec is not None and (spec.address, spec.workers) == (address, workers)


@pytest.mark.parametrize(
    "text", ["locale", "local:0", "local:two", "http://x:1", "tcp://host", "tcp://h:99999"]
)
def test_parse_cluster_refuses_with_the_spellings(text):
    with pytest.raises(InputError, match="--cluster.*Fix: give 'local'"):
        parse_cluster(text)


def test_environment_names_the_cluster(monkeypatch):
    monkeypatch.setenv("SKINTRIAL_CLUSTER", "local:2")
    assert cluster_from_env() == parse_cluster("local:2")
    monkeypatch.setenv("SKINTRIAL_CLUSTER", "nonsense")
    with pytest.raises(InputError, match="SKINTRIAL_CLUSTER"):
        cluster_from_env()
    monkeypatch.delenv("SKINTRIAL_CLUSTER")
    assert cluster_from_env() is None


def test_chunks_are_cut_by_the_data():
    assert chunk_bounds(0, 4) == []
    assert chunk_bounds(9, 4) == [(0, 4), (4, 8), (8, 9)]


def test_in_process_runner_keeps_order_and_counts_progress():
    seen = []
    out = InProcess().map(square, [3, 1, 2], shared={"offset": 1}, progress=seen.append, size=lambda x: x)
    assert out == [10, 2, 5] and seen == [3, 1, 2]
    with connect(None) as runner:
        assert isinstance(runner, InProcess)


def test_as_runner():
    assert isinstance(as_runner(None), InProcess)
    with pytest.raises(TypeError, match="distributed.Client"):
        as_runner("local")


def test_cluster_runner_equals_in_process(dask_client):
    runner = as_runner(dask_client)
    assert isinstance(runner, DaskRunner) and runner.workers == 2
    seen: list[int] = []
    items = list(range(40))
    out = runner.map(square, items, shared={"offset": 7}, progress=seen.append)
    assert out == InProcess().map(square, items, shared={"offset": 7})
    assert sum(seen) == 40  # one advance per finished task


def test_workers_start_without_dasks_malloc_trim(dask_client):
    assert set(dask_client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()) == {None}
    assert set(dask_client.run(os.environ.get, "OPENBLAS_NUM_THREADS").values()) == {"1"}


def test_shared_arguments_may_not_take_client_map_keywords(dask_client):
    with pytest.raises(TypeError, match="batch_size"):
        as_runner(dask_client).map(square, [1], shared={"batch_size": 3})


def test_task_error_is_raised_as_in_process(dask_client):
    with pytest.raises(InputError, match="item 3 is bad"):
        as_runner(dask_client).map(fail_on_three, range(6))


def test_unreachable_scheduler_names_the_address():
    with pytest.raises(
        InputError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9.*dask scheduler"
    ):
        with connect("tcp://127.0.0.1:9"):
            pass


def test_killed_worker_is_replaced_and_its_tasks_rerun(monkeypatch):
    """Kill a worker process (SIGKILL) while a power simulation runs: the nanny starts a new one, the
    scheduler reruns the lost blocks, and the tables are those of an undisturbed run in this process."""
    import pandas as pd

    import skintrial.plan.simulate as sim
    from skintrial.plan import design_table, simulate_power

    monkeypatch.setattr(sim, "BLOCK_TRIALS", 100)  # 30 blocks: the killed worker holds some
    design = design_table(effects={"r2": {"AT": 0.4, "RT": 0.2}}, sd={"r2": 1.0}, rho={"r2": 0.5})
    kw = dict(n_per_arm=30, n_sims=3000, seed=8, dropout=0.1)
    undisturbed = simulate_power(design, **kw)
    with connect("local:2") as runner:
        assert isinstance(runner, DaskRunner)
        client = runner.client
        victim = next(iter(client.run(os.getpid).values()))
        killed: list[int] = []

        def kill_once(done: int, total: int) -> None:
            if not killed:
                os.kill(victim, signal.SIGKILL)
                killed.append(done)

        disturbed = simulate_power(design, client=client, progress=kill_once, **kw)
        assert killed and killed[0] < 3000  # killed while blocks were still to come
        client.wait_for_workers(2, timeout=60)  # the nanny replaced the killed process
        assert victim not in client.run(os.getpid).values()
    pd.testing.assert_frame_equal(disturbed.hypotheses, undisturbed.hypotheses, check_exact=True)
    pd.testing.assert_frame_equal(disturbed.families, undisturbed.families, check_exact=True)


def test_a_scheduler_without_workers_is_exit_2_naming_it():
    import distributed

    with distributed.LocalCluster(
        n_workers=0, processes=False, protocol="tcp", dashboard_address=":0"
    ) as empty:
        address = empty.scheduler_address
        with pytest.raises(InputError, match=r"has no workers.*dask worker"):
            with connect(address):
                pass
