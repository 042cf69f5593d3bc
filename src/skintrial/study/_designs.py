"""Study designs and the analyses each may list: the vocabulary ``[study] design`` and ``[analysis]
methods`` are checked against, and the readers of both on a raw ``study.toml`` document.

A randomised trial (the default) compares two or more arms between a baseline and follow-up visits; a
cross-sectional study compares groups at one visit; a single-arm study measures one group before and
after. :data:`DESIGN_METHODS` says which analyses each may list, :data:`DEFAULT_METHODS` which it gets
when ``methods`` is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

__all__ = [
    "MethodName",
    "METHOD_NAMES",
    "DesignName",
    "DESIGNS",
    "DESIGN_METHODS",
    "DEFAULT_METHODS",
    "SINGLE_GROUP",
    "design_of",
    "methods_of",
    "string_list",
]

MethodName = Literal["ancova", "clda", "mixed_anova", "cross_sectional", "paired_change"]
METHOD_NAMES: tuple[str, ...] = get_args(MethodName)
"""The analyses ``[analysis] methods`` may list."""

DesignName = Literal["randomised", "cross_sectional", "single_arm"]
DESIGNS: tuple[str, ...] = get_args(DesignName)
"""The study designs ``[study] design`` may name (docs/bundle.md, "Study designs")."""

DESIGN_METHODS: Mapping[str, tuple[str, ...]] = {
    "randomised": ("ancova", "clda", "mixed_anova", "cross_sectional"),
    "cross_sectional": ("cross_sectional",),
    "single_arm": ("paired_change", "clda"),
}
"""The methods each design may list: a cross-sectional study has no follow-up (no ANCOVA, cLDA or
mixed ANOVA); a single-arm study has no second arm (never a between-arm test)."""

DEFAULT_METHODS: Mapping[str, tuple[str, ...]] = {
    "randomised": ("ancova",),
    "cross_sectional": ("cross_sectional",),
    "single_arm": ("paired_change",),
}
"""``[analysis] methods`` when study.toml does not list them, by design."""

SINGLE_GROUP = "all"
"""The one arm of a non-randomised study that declares no ``[study] arms`` (and whose participants
table may then have no ``arm`` column)."""


def design_of(raw: object) -> str:
    """The design a raw ``study.toml`` document (or its ``[study]`` table) declares; ``randomised``
    by default and for a value that is not a design (reported by the schema)."""
    if isinstance(raw, Mapping) and isinstance(raw.get("study"), Mapping):
        raw = raw["study"]
    design = raw.get("design", "randomised") if isinstance(raw, Mapping) else "randomised"
    return design if design in DESIGNS else "randomised"


def methods_of(raw: object) -> list[str]:
    """``[analysis] methods`` of a raw document, or the design's default when the key is absent."""
    analysis = raw.get("analysis") if isinstance(raw, Mapping) else None
    listed = analysis.get("methods") if isinstance(analysis, Mapping) else None
    if listed is None:
        return list(DEFAULT_METHODS[design_of(raw)])
    return string_list(listed) or []


def string_list(value: object) -> list[str] | None:
    """``value`` when it is a list of strings (a raw TOML list of names), else None."""
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None
