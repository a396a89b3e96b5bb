"""Faithfulness judged by an LLM: ragas' own Faithfulness metric against an OpenAI-compatible endpoint; and,
with the same judge, answer correctness against the reference (ragas FactualCorrectness, F1 of claims):
the score for free-form items, which carry no required facts to check without a judge.

`--judge URL --judge-model NAME [--judge-key-env VAR]`: ragas splits each answer into statements and
asks the judge, for each, whether the evidence supports it; the value is the supported share. The key
is read from the named environment variable, never from the command line (it would land in the
manifest). The statements and verdicts are kept per item, like the offline scorer's claims.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError


@dataclass(frozen=True)
class JudgeConfig:
    base_url: str
    model: str
    key_env: str = "OPENAI_API_KEY"
    timeout_s: float = 120.0

    @property
    def method(self) -> str:
        return f"ragas-judge:{self.model}"


class RagasJudge:
    """Same interface as OfflineFaithfulness: score_many(questions, answers, evidence)."""

    def __init__(self, cfg: JudgeConfig) -> None:
        os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
        key = os.environ.get(cfg.key_env)
        if not key:
            raise HarnessError(f"--judge-key-env {cfg.key_env}: the environment variable is not set "
                               "(set it to the endpoint's API key; any non-empty value for a local server)")
        from langchain_openai import ChatOpenAI
        from ragas.llms import LangchainLLMWrapper
        from ragas.metrics import FactualCorrectness, Faithfulness

        chat = ChatOpenAI(base_url=cfg.base_url, model=cfg.model, api_key=key, temperature=0.0,
                          timeout=cfg.timeout_s, max_retries=1)
        self.cfg = cfg
        self.method = cfg.method
        self.metric = Faithfulness(llm=LangchainLLMWrapper(chat))
        self.correctness = FactualCorrectness(llm=LangchainLLMWrapper(chat), mode="f1")

    async def _one(self, question: str, answer: str, passages: Sequence[str]) -> tuple[float, list[dict[str, Any]]]:
        row = {"user_input": question, "response": answer, "retrieved_contexts": list(passages)}
        statements = (await self.metric._create_statements(row, callbacks=None)).statements
        if not statements:
            return math.nan, []
        verdicts = await self.metric._create_verdicts(row, statements, callbacks=None)
        claims = [{"claim": v.statement, "supported": bool(v.verdict), "reason": v.reason} for v in verdicts.statements]
        return float(self.metric._compute_score(verdicts)), claims

    def correctness_many(self, answers: Sequence[str], references: Sequence[str]) -> list[float]:
        """Per answer: F1 of its claims against the reference's (precision: the answer's claims the reference
        supports; recall: the reference's claims the answer supports), as ragas computes it."""
        from ragas.dataset_schema import SingleTurnSample

        async def run_all() -> list[float]:
            return [float(await self.correctness.single_turn_ascore(SingleTurnSample(response=a, reference=r)))
                    for a, r in zip(answers, references)]

        try:
            return asyncio.run(run_all())
        except Exception as exc:  # noqa: BLE001 - an unreachable or broken judge fails the cell, with the reason
            raise RuntimeError(f"correctness judge at {self.cfg.base_url} failed: {type(exc).__name__}: {exc}") from exc

    def score_many(self, questions: Sequence[str], answers: Sequence[str],
                   evidence: Sequence[Sequence[str]]) -> list[tuple[float, list[dict[str, Any]]]]:
        async def run_all() -> list[tuple[float, list[dict[str, Any]]]]:
            return [await self._one(q, a, e) for q, a, e in zip(questions, answers, evidence)]

        try:
            return asyncio.run(run_all())
        except HarnessError:
            raise
        except Exception as exc:  # noqa: BLE001 - an unreachable or broken judge fails the cell, with the reason
            raise RuntimeError(f"faithfulness judge at {self.cfg.base_url} failed: {type(exc).__name__}: {exc}") from exc
