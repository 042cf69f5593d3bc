"""CLI commands (registered on the shared app)."""

from __future__ import annotations

from skintrial.cli._app import app  # noqa: F401
