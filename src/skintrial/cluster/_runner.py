"""Runners: a list of independent tasks, run in this process or on a Dask cluster, results in order.

A task is a module-level function called with one item (a chunk of file paths, a block of trials, a
chunk of outcomes) and, optionally, keyword arguments shared by every task. Shared arguments are sent
to each worker once (``Client.scatter(broadcast=True)``), not once per task; items should be small
(paths, index ranges, seeds).

On a cluster a task whose worker dies is rerun on another worker by the scheduler (Dask's
``allowed-failures``, 3 by default); because a task's result depends only on its item, the run's
result is the one an undisturbed run gives. A task that raises stops the batch and its exception is
raised here, as in this process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from skintrial.cluster._spec import ClusterSpec, parse_cluster
from skintrial.errors import InputError, Problem

T = TypeVar("T")
R = TypeVar("R")

CONNECT_TIMEOUT_S = 5.0
"""How long to wait for a remote scheduler before saying it cannot be reached."""

WORKER_ENVIRON = {"MALLOC_TRIM_THRESHOLD_": None}
"""What a LocalCluster's worker processes are started without: Dask sets ``MALLOC_TRIM_THRESHOLD_=65536``
so that workers hand freed memory back at once, which made each measured ultrasound scan cost about
60 % more CPU (benchmarks/bench_cluster_ultrasound.py: 14.2–15.4 ms per scan with it, 9.2–9.9 ms
without, 8.3–9.0 ms in-process). skintrial's tasks allocate and free large arrays per chunk; glibc's
own threshold serves them. Dask's single-thread BLAS settings for workers are kept."""

_MAP_KEYWORDS = frozenset(
    {
        "key",
        "workers",
        "retries",
        "resources",
        "priority",
        "allow_other_workers",
        "fifo_timeout",
        "actor",
        "actors",
        "pure",
        "batch_size",
    }
)
"""``Client.map``'s own keywords: a shared argument of a task may not take one of these names."""


@runtime_checkable
class Runner(Protocol):
    """Runs ``fn(item, **shared)`` for every item and returns the results in the items' order."""

    @property
    def workers(self) -> int: ...

    def map(
        self,
        fn: Callable[..., R],
        items: Iterable[T],
        *,
        shared: Mapping[str, Any] | None = None,
        progress: Callable[[int], None] | None = None,
        size: Callable[[T], int] | None = None,
        name: str | None = None,
    ) -> list[R]: ...


class InProcess:
    """Every task in this process, one after the other (what skintrial does without ``--cluster``)."""

    workers = 1

    def map(
        self,
        fn: Callable[..., R],
        items: Iterable[T],
        *,
        shared: Mapping[str, Any] | None = None,
        progress: Callable[[int], None] | None = None,
        size: Callable[[T], int] | None = None,
        name: str | None = None,
    ) -> list[R]:
        out = []
        for item in items:
            out.append(fn(item, **(shared or {})))
            if progress is not None:
                progress(size(item) if size else 1)
        return out

    def __repr__(self) -> str:
        return "InProcess()"


class DaskRunner:
    """Tasks on the workers of a ``distributed.Client``; progress follows the tasks as they finish."""

    def __init__(self, client: Any):
        self.client = client

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def map(
        self,
        fn: Callable[..., R],
        items: Iterable[T],
        *,
        shared: Mapping[str, Any] | None = None,
        progress: Callable[[int], None] | None = None,
        size: Callable[[T], int] | None = None,
        name: str | None = None,
    ) -> list[R]:
        from distributed import as_completed

        items = list(items)
        if not items:
            return []
        clash = sorted(_MAP_KEYWORDS.intersection(shared or {}))
        if clash:
            raise TypeError(
                f"shared argument(s) {clash} are Client.map's own keywords: rename them in the task"
            )
        kwargs = {
            k: self.client.scatter([v], broadcast=True, hash=False)[0] for k, v in (shared or {}).items()
        }
        token = uuid.uuid4().hex[:8]
        label = name or getattr(fn, "__name__", "task")
        keys = [f"skintrial-{label}-{token}-{i}" for i in range(len(items))]
        futures = self.client.map(fn, items, key=keys, pure=False, **kwargs)
        position = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(items)
        try:
            for future in as_completed(futures, loop=self.client.loop):
                i = position[future.key]
                results[i] = future.result()  # a task's exception is raised here, as in this process
                if progress is not None:
                    progress(size(items[i]) if size else 1)
            return results
        finally:
            self.client.cancel(futures)
            for value in kwargs.values():
                value.release()

    def __repr__(self) -> str:
        return f"DaskRunner({self.client.scheduler.address})"


def as_runner(client: Any = None) -> Runner:
    """The runner for what the Python API accepts: None (this process), a ``distributed.Client``, or
    a :class:`Runner` (returned as it is)."""
    if client is None:
        return InProcess()
    if isinstance(client, InProcess | DaskRunner):
        return client
    if hasattr(client, "scheduler_info") and hasattr(client, "map"):
        return DaskRunner(client)
    raise TypeError(
        f"expected a distributed.Client or a skintrial.cluster runner, got {type(client).__name__}"
    )


def chunk_bounds(n: int, size: int) -> list[tuple[int, int]]:
    """``[(0, size), (size, 2·size), …]`` covering ``range(n)``: chunks cut by the data, never by the
    number of workers, so a result never depends on the cluster.

    >>> chunk_bounds(5, 2)
    [(0, 2), (2, 4), (4, 5)]
    """
    size = max(1, int(size))
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def split(items: Sequence[T], size: int) -> list[list[T]]:
    """``items`` in consecutive lists of at most ``size``."""
    return [list(items[a:b]) for a, b in chunk_bounds(len(items), size)]


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise InputError(
            Problem(
                "running on a cluster needs Dask distributed, which is not installed",
                column="--cluster",
                fix="pip install 'skintrial[scale]' (or leave out --cluster / SKINTRIAL_CLUSTER)",
            )
        ) from None
    return distributed


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def connect(cluster: str | ClusterSpec | None) -> Iterator[Runner]:
    """The runner for ``cluster`` (``--cluster``'s text or a :class:`ClusterSpec`) for a ``with`` block.

    None runs in this process. ``local`` / ``local:N`` start a LocalCluster of worker processes (one
    thread each) that is closed at the end of the block; ``tcp://HOST:PORT`` connects to a running
    scheduler, left running. A scheduler that cannot be reached in :data:`CONNECT_TIMEOUT_S` seconds
    is an :class:`InputError` naming its address.
    """
    spec = parse_cluster(cluster) if isinstance(cluster, str) or cluster is None else cluster
    if spec is None:
        yield InProcess()
        return
    distributed = _distributed()
    local = None
    if spec.local:
        import dask

        environ = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_ENVIRON.items()}
        with dask.config.set(environ):  # read when each nanny is made, kept for its restarts
            local = distributed.LocalCluster(
                n_workers=spec.workers or _cores(),
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.CRITICAL,  # a task's error is raised here, not logged twice
            )
        try:
            client = distributed.Client(local, set_as_default=False)
        except BaseException:
            local.close()
            raise
    else:
        address = str(spec.address)
        try:
            client = distributed.Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise InputError(
                Problem(
                    f"cannot reach the Dask scheduler at {address} ({type(exc).__name__}: {exc})",
                    column="--cluster",
                    fix=(
                        f"start one there (`dask scheduler --port {address.rsplit(':', 1)[1]}`, then "
                        f"`dask worker {address}` on each machine), check the host, the port and the "
                        "firewall, or use --cluster local (docs/scale.md)"
                    ),
                )
            ) from None
    try:
        if not spec.local:
            _wait_for_a_worker(client, str(spec.address))
        yield DaskRunner(client)
    finally:
        client.close()
        if local is not None:
            local.close()


def _wait_for_a_worker(client: Any, address: str) -> None:
    """A scheduler without workers would hold every task forever: wait :data:`CONNECT_TIMEOUT_S` for
    one, then say so (exit 2), naming the address and how to start workers."""
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except TimeoutError:
        raise InputError(
            Problem(
                f"the Dask scheduler at {address} has no workers",
                column="--cluster",
                fix=f"start workers for it (`dask worker {address} --nthreads 1` on each machine), then run again",
            )
        ) from None
