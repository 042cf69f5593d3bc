"""skintrial: exercise and skin-aging intervention studies, from raw data to a report and the next study.

Stages are namespaces, imported on first use so that ``import skintrial`` stays fast:
``study``, ``instruments``, ``training``, ``stats``, ``omics``, ``plan``, ``report``.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_STAGES = ("study", "instruments", "training", "stats", "omics", "plan", "report")


def __getattr__(name: str) -> Any:
    if name in _STAGES:
        return importlib.import_module(f"skintrial.{name}")
    raise AttributeError(f"module 'skintrial' has no attribute {name!r}")


__all__ = ["__version__", *_STAGES]
