"""The same calls on a Dask distributed cluster: one option, the same results.

Every batch skintrial runs — instrument files, simulated trials, the outcome axis of an omics fit,
several study bundles — is a list of independent *tasks*. A :class:`Runner` runs such a list: in this
process (:class:`InProcess`, the default) or on a Dask cluster (:class:`DaskRunner`). What a function
computes never depends on which runner ran it, nor on the number of workers: tasks are cut by the
data (files, blocks of trials with their own random streams, chunks of outcomes whose sufficient
statistics are combined in a fixed order), never by the cluster's size.

* :func:`parse_cluster` reads the one spelling every command accepts: ``local`` (a LocalCluster, one
  worker process per core), ``local:N`` (N worker processes) or ``tcp://HOST:PORT`` (a running
  scheduler); ``SKINTRIAL_CLUSTER`` in the environment says the same.
* :func:`connect` starts or reaches that cluster for the length of a ``with`` block; a scheduler that
  cannot be reached is an :class:`~skintrial.errors.InputError` naming its address and the fix.
* :func:`as_runner` turns what the Python API accepts — ``None``, a ``distributed.Client`` or a
  runner — into a runner.

Dask is an optional extra (``pip install 'skintrial[scale]'``): nothing here imports it until a
cluster is asked for. What travels to workers: file paths (the workers read shared storage), numpy
arrays and small settings — never a pickled DataFrame per row. docs/scale.md says more.
"""

from skintrial.cluster._runner import (
    DaskRunner,
    InProcess,
    Runner,
    as_runner,
    chunk_bounds,
    connect,
    split,
)
from skintrial.cluster._spec import ENV, ClusterSpec, cluster_from_env, parse_cluster

__all__ = [
    "ENV",
    "ClusterSpec",
    "DaskRunner",
    "InProcess",
    "Runner",
    "as_runner",
    "chunk_bounds",
    "cluster_from_env",
    "connect",
    "parse_cluster",
    "split",
]
