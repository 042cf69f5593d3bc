"""Command-line interface: a thin typer app; each stage's commands live in their own module.

Modules are imported in the order of the data flow, which is the order of the panels in ``--help``.
"""

from __future__ import annotations

# isort: off
from skintrial.cli import _study  # noqa: F401  (each module registers its commands on the app)
from skintrial.cli import _import  # noqa: F401
from skintrial.cli import _cutometer, _ultrasound  # noqa: F401
from skintrial.cli import _qpcr, _expression  # noqa: F401
from skintrial.cli import _plan  # noqa: F401

# isort: on
from skintrial.cli._app import app


def main() -> None:
    """Entry point of the ``skintrial`` console script."""
    app()


__all__ = ["app", "main"]
