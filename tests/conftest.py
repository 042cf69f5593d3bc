"""Shared fixtures: small synthetic bundles written to temporary folders."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture
def small_bundle(tmp_path: Path) -> Path:
    """A valid 20-participant synthetic bundle (fast to analyse)."""
    from skintrial.plan import synthetic_study

    return synthetic_study(seed=11, n=20).write(tmp_path / "study")


@pytest.fixture(scope="session")
def demo_results(tmp_path_factory: pytest.TempPathFactory):
    """The full-size demo study analysed once per test session."""
    from skintrial.pipeline import analyse
    from skintrial.plan import synthetic_study
    from skintrial.study import load_study

    root = synthetic_study().write(tmp_path_factory.mktemp("demo") / "study")
    return analyse(load_study(root))


@pytest.fixture(scope="session")
def dask_client():
    """A LocalCluster of 2 worker processes (one thread each) shared by a test session's cluster tests:
    what ``--cluster local:2`` starts, as a ``distributed.Client``."""
    pytest.importorskip("distributed")  # the `scale` extra; the test extra installs it
    from skintrial.cluster import connect

    with connect("local:2") as runner:
        yield runner.client
