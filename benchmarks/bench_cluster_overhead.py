"""What one task costs on a Dask LocalCluster here: the scheduling overhead chunk sizes are chosen from
(issue 16, docs/scale.md).

Three figures, each the median of ``--repeat`` runs:

* start-up: ``connect("local:N")`` until the workers are ready (paid once per command);
* per task: ``runner.map`` of a task that does nothing over ``--tasks`` items, divided by the number of
  tasks — scheduler, transfer of a small item and result, and the progress callback, amortised over
  the workers (N in parallel);
* a shared array: the extra cost of a task map with a 10 MB numpy array scattered once to every worker.

No peer: this is the cost skintrial adds on a cluster, not a comparison. A task should last at least
100 times the per-task figure so that scheduling costs at most 1% (docs/scale.md, "Chunk sizes").

    .venv/bin/python benchmarks/bench_cluster_overhead.py [--workers 2] [--tasks 2000]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from skintrial.cluster import connect


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    starts, per_task, shared = [], [], []
    big = np.ones(10_000_000 // 8)
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        with connect(f"local:{args.workers}") as runner:
            starts.append(time.perf_counter() - t0)
            runner.map(abs, range(50))  # warm: workers have imported what a task needs
            t0 = time.perf_counter()
            out = runner.map(abs, range(args.tasks), progress=lambda k: None)
            per_task.append((time.perf_counter() - t0) / args.tasks)
            assert out == list(range(args.tasks))
            t0 = time.perf_counter()
            runner.map(_size, range(args.workers * 4), shared={"array": big})
            shared.append(time.perf_counter() - t0)
    print(f"workers: {args.workers} (LocalCluster, processes, 1 thread each)")
    print(f"start-up: {statistics.median(starts):.2f} s (median of {args.repeat})")
    print(f"per task: {statistics.median(per_task) * 1e3:.2f} ms over {args.tasks} no-op tasks")
    print(
        f"map with a 10 MB shared array ({args.workers * 4} tasks): {statistics.median(shared) * 1e3:.0f} ms"
    )
    print(f"=> tasks of at least {statistics.median(per_task) * 100 * 1e3:.0f} ms keep scheduling under 1%")
    return 0


def _size(i: int, array: np.ndarray) -> int:
    return int(array.size) + i


if __name__ == "__main__":
    raise SystemExit(main())
