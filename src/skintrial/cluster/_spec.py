"""What ``--cluster`` / ``SKINTRIAL_CLUSTER`` may say, read once: :func:`parse_cluster`."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from skintrial.errors import InputError, Problem

ENV = "SKINTRIAL_CLUSTER"
"""The environment variable that names the cluster when ``--cluster`` is not given."""

_FIX = (
    "give 'local' (one worker process per core), 'local:N' (N worker processes) or "
    "'tcp://HOST:PORT' (the address a running `dask scheduler` prints); or leave it out to run in this process "
    "(SKINTRIAL_CLUSTER in the environment is read when --cluster is not given: unset it too)"
)
_ADDRESS = re.compile(r"^(tcp|tls)://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})/?$")


@dataclass(frozen=True)
class ClusterSpec:
    """A cluster to run on: a LocalCluster of ``workers`` processes (``address`` None; ``workers``
    None = one per core) or the running scheduler at ``address``."""

    text: str
    address: str | None = None
    workers: int | None = None

    @property
    def local(self) -> bool:
        return self.address is None


def parse_cluster(text: str | None, *, option: str = "--cluster") -> ClusterSpec | None:
    """``local``, ``local:N`` or ``tcp://HOST:PORT`` as a :class:`ClusterSpec`; None for no cluster.

    Examples
    --------
    >>> parse_cluster("local:2")
    ClusterSpec(text='local:2', address=None, workers=2)
    >>> parse_cluster("tcp://10.0.0.5:8786").address
    'tcp://10.0.0.5:8786'
    >>> parse_cluster("") is None
    True
    """
    if text is None or not text.strip():
        return None
    text = text.strip()
    if text == "local":
        return ClusterSpec(text)
    if text.startswith("local:"):
        count = text.removeprefix("local:")
        if count.isdigit() and 1 <= int(count) <= 1024:
            return ClusterSpec(text, workers=int(count))
        raise InputError(
            Problem(
                "the number of local workers must be a whole number from 1",
                column=option,
                value=text,
                fix=_FIX,
            )
        )
    match = _ADDRESS.match(text)
    if match and 0 < int(match["port"]) < 65536:
        return ClusterSpec(text, address=text.rstrip("/"))
    raise InputError(Problem("is not a cluster skintrial can use", column=option, value=text, fix=_FIX))


def cluster_from_env() -> ClusterSpec | None:
    """The cluster ``SKINTRIAL_CLUSTER`` names, or None when it is unset or empty."""
    return parse_cluster(os.environ.get(ENV), option=ENV)
