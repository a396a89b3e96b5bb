"""Scorer registry. A new scorer is one module here plus its import line below."""

from harness.scorers import business_flow, facts, text_match, vocabulary  # noqa: F401  (register)
from harness.scorers.base import SCORERS, Scorer

__all__ = ["SCORERS", "Scorer"]
