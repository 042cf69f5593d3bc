"""What every section of one report shares: the run, outcome labels and decimals, and its figures."""

from __future__ import annotations

from dataclasses import dataclass, field

from skintrial.pipeline import TrialResults
from skintrial.report._figures import FigureSet
from skintrial.report._format import outcome_decimals

__all__ = ["Context", "make_context"]


@dataclass(frozen=True)
class Context:
    """One report's shared state (built once by :func:`make_context`, never global)."""

    res: TrialResults
    labels: dict[str, str]
    decimals: dict[str, int]
    figures: FigureSet = field(default_factory=FigureSet)

    def label(self, outcome: str) -> str:
        """The outcome's label from study.toml (its name when it has none)."""
        return self.labels.get(outcome, outcome)

    def labelled(self, outcome: str) -> str:
        """'Label (unit)'."""
        spec = self.res.study.spec.outcomes.get(outcome)
        return (
            f"{self.label(outcome)} ({spec.unit})" if spec is not None and spec.unit else self.label(outcome)
        )

    def d(self, outcome: str) -> int:
        """Decimals for the outcome's numbers (:func:`skintrial.report._format.outcome_decimals`)."""
        return self.decimals.get(outcome, 3)


def make_context(res: TrialResults, *, files: bool = True) -> Context:
    """The context of a report on ``res``; ``files=False`` renders the page's figures only."""
    spec = res.study.spec
    long = res.study.long()
    return Context(
        res=res,
        labels={k: (v.label or k) for k, v in spec.outcomes.items()},
        decimals=outcome_decimals(
            long[["outcome", "visit", "value"]], baseline_visit=spec.study.baseline_visit
        ),
        figures=FigureSet(files=files),
    )
