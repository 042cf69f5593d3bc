"""What ``study.toml`` declares, as the table checks read it: :class:`Declared`.

It holds only the parts that could be read: when ``study.toml`` has problems of its own
(:meth:`Declared.from_raw` on the invalid document), the tables are still checked for everything
that does not depend on the broken part, so one pass reports every problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from skintrial.study._schema import SINGLE_GROUP, CrossSectionalSpec, OutcomeSpec, StudyFile, design_of

__all__ = ["Declared"]


def _strings(value: object) -> list[str] | None:
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def _table(raw: Mapping, key: str) -> Mapping:
    """The TOML table ``raw[key]``; empty when it is missing or not a table."""
    value = raw.get(key)
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class Declared:
    """What ``study.toml`` declares, as far as it could be read (``None``: that part is unreadable)."""

    arms: list[str] | None = None
    visits: list[str] | None = None
    baseline_visit: str | None = None
    outcomes: Mapping[str, OutcomeSpec | None] | None = None
    """Declared outcome names → their spec (``None`` for an outcome whose own table has errors)."""
    covariates: list[str] = field(default_factory=list)
    cross_sectional: CrossSectionalSpec | None = None
    """The ``cross_sectional`` method's settings when the plan lists it (its group and covariates are
    participants columns)."""
    design: str = "randomised"
    """``[study] design``: ``randomised``, ``cross_sectional`` or ``single_arm``."""

    @classmethod
    def from_spec(cls, spec: StudyFile) -> Declared:
        s, a = spec.study, spec.analysis
        cs = (a.cross_sectional or CrossSectionalSpec()) if "cross_sectional" in a.methods else None
        return cls(
            list(s.arms),
            list(s.visits),
            s.baseline_visit,
            dict(spec.outcomes),
            list(a.covariates),
            cs,
            s.design,
        )

    @classmethod
    def from_raw(cls, raw: Mapping | None) -> Declared:
        """The parts of an invalid ``study.toml`` document that are usable (lists of names, valid outcomes)."""
        if not isinstance(raw, Mapping):
            return cls()
        study, analysis = _table(raw, "study"), _table(raw, "analysis")
        outcomes: dict[str, OutcomeSpec | None] | None = None
        if isinstance(raw.get("outcomes"), Mapping):
            outcomes = {}
            for name, table in raw["outcomes"].items():
                try:
                    outcomes[name] = OutcomeSpec.model_validate(table)
                except ValueError:  # pydantic's ValidationError; already reported against study.toml
                    outcomes[name] = None
        base = study.get("baseline_visit")
        design = design_of(study)
        arms = _strings(study.get("arms"))
        return cls(
            [SINGLE_GROUP] if arms is None and "arms" not in study and design != "randomised" else arms,
            _strings(study.get("visits")),
            base if isinstance(base, str) else None,
            outcomes,
            _strings(analysis.get("covariates")) or [],
            design=design,
        )

    @property
    def followup_visit(self) -> str | None:
        """The primary follow-up visit (the last); none in a cross-sectional study."""
        if self.design == "cross_sectional":
            return None
        return self.visits[-1] if self.visits and len(self.visits) >= 2 else None

    @property
    def randomised(self) -> bool:
        return self.design == "randomised"

    @property
    def arm_optional(self) -> bool:
        """A non-randomised study that declares no arms needs no ``arm`` column (it has one group)."""
        return not self.randomised and self.arms == [SINGLE_GROUP]
