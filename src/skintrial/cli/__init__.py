"""Command-line interface: a thin typer app; each stage's commands live in their own module."""

from __future__ import annotations

from skintrial.cli import (  # noqa: F401  (each module registers its commands on the app)
    _cutometer,
    _expression,
    _plan,
    _qpcr,
    _study,
    _ultrasound,
)
from skintrial.cli._app import app


def main() -> None:
    """Entry point of the ``skintrial`` console script."""
    app()


__all__ = ["app", "main"]
