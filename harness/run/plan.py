"""Planning: which cells a run has, in what order, and the keys that say when a result can be reused.

A cell's key hashes everything that determines its result; an adapter's key (`train_key`) only what
training depends on, so a change of scoring re-scores a cached adapter instead of retraining it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from harness.config import Scenario
from harness.errors import HarnessError
from harness.models import DeviceInfo, ModelRef, answer_precision
from harness.profiles import RunProfile
from harness.retrieval import RETRIEVER_VERSION
from harness.strategies import STRATEGIES
from harness.strategies.base import examples_of

# bump when a change makes cached cells incomparable with new ones (4: strategy flags in rows; 5: a cell's key
# holds only its own training settings, so a change of the training rule re-runs only the cells it trains;
# 6: a request's wait timed in the weights' own dtype on a CPU, generation.serving_precision; 7: facts the question
# states earn nothing, faithfulness checks word coverage, supported_accuracy; 8: recognition, keyfact_loglik)
CELL_FORMAT = 8
# bump when the training loop changes what an adapter learns (3: LoRA init seeded per cell; 4: the stopping
# rule, and the hardware in the key)
TRAIN_FORMAT = 4


@dataclass(frozen=True)
class Cell:
    scenario: str
    strategy: str
    key: str
    deps: dict[str, str] = field(default_factory=dict)  # strategy -> cell key
    seed: int = 0
    train_key: str = ""  # cells that train: the key of their adapter in the artifact cache
    # the dtype it answers in, resolved once where the run is planned: a Ray worker on another CPU computes
    # what the key says, and every cell of a run answers in the same dtype
    precision: str = "float32"


def _strategy_fingerprint(name: str) -> dict[str, Any]:
    s = STRATEGIES.get(name)
    fields = {f.name: getattr(s, f.name) for f in dataclasses.fields(s) if f.name != "examples"}
    fn = examples_of(s)
    fields["examples"] = f"{fn.__module__}.{fn.__qualname__}"
    if s.retrieval:
        fields["retriever"] = RETRIEVER_VERSION
    return fields


def _hardware(device: DeviceInfo) -> list[str]:
    """What a measured cost depends on: the device kind, its dtype, and which CPU model or GPU it is (a time
    measured on another machine is not this machine's: the cell is measured again)."""
    return [device.device, device.dtype, device.name]


def _hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]


def train_key(scenario: Scenario, strategy: str, profile: RunProfile, model: ModelRef, seed: int,
              device: DeviceInfo) -> str:
    """What an adapter depends on, and nothing that only affects evaluation: a new metric, another eval
    slice or file, or answer length re-scores a cell with its cached adapter instead of retraining it."""
    fp = _strategy_fingerprint(strategy)
    # an adapter trained on prompts with sources (raft) depends on how they are laid out and how many
    with_sources = fp.pop("retriever", None) is not None
    prof = dataclasses.asdict(profile)
    files = {k: v for k, v in scenario.file_hashes.items() if k in ("train", "corpus")}  # corpus: raft's sources
    sources = [prof["raft_min_distractors"], prof["top_k"], prof["raft_p_no_gold"], prof["source_form"]]
    if scenario.spec.rag_prompt is not None:  # the scenario's own layout (absent: the keys stay as they were)
        sources.append(scenario.spec.rag_prompt.model_dump())
    return _hash({
        "format": TRAIN_FORMAT, "scenario": scenario.name, "files": files, "system": scenario.spec.system_prompt,
        "train_size": scenario.sizes(profile.name).train, "strategy": fp,
        "train": dataclasses.asdict(profile.train_config(strategy)), "raft": sources if with_sources else [],
        "model": model.identity, "seed": seed, "device": _hardware(device),
    })


def _profile_for(profile: RunProfile, strategy: str) -> dict[str, Any]:
    """The profile as one cell depends on it: its own training settings, if it trains, and no one else's (a
    cell that reuses an adapter depends on that adapter's training through its dependency's key)."""
    prof = dataclasses.asdict(profile)
    del prof["train"], prof["train_overrides"]
    if STRATEGIES.get(strategy).train:
        prof["train"] = dataclasses.asdict(profile.train_config(strategy))
    return prof


def cell_key(scenario: Scenario, strategy: str, profile: RunProfile, model: ModelRef, seed: int,
             device: DeviceInfo, dep_keys: dict[str, str], scoring: str = "") -> str:
    payload = {
        "format": CELL_FORMAT,
        "scoring": scoring,
        "scenario": scenario.name,
        "scenario_files": scenario.file_hashes,
        "sizes": scenario.sizes(profile.name).model_dump(),
        "strategy": _strategy_fingerprint(strategy),
        "profile": _profile_for(profile, strategy),
        "model": model.identity,
        "seed": seed,
        "device": _hardware(device),
        # resolved: "auto" answers in bf16 on one CPU and in fp32 on another
        "answer_precision": answer_precision(profile.answer_precision, device),
        "deps": dep_keys,
    }
    return _hash(payload)


def check_strategies(names: list[str]) -> None:
    for name in names:
        if name not in STRATEGIES:
            raise HarnessError(f"--strategy {name}: unknown strategy (known: {', '.join(sorted(STRATEGIES.names()))})")


def plan_cells(scenarios: list[Scenario], strategies: list[str], profile: RunProfile, model: ModelRef,
               seeds: list[int], device: DeviceInfo, scoring: str = "") -> list[Cell]:
    """Cells in run order; a strategy that reuses another's adapter pulls that strategy in before it.

    With several seeds, cells whose result depends on training (their own or a reused adapter) repeat
    per seed; the others (greedy decoding, no training) run once, under the first seed.
    """
    check_strategies(strategies)
    ordered: list[str] = []

    def add(name: str) -> None:
        for dep in STRATEGIES.get(name).depends_on:
            add(dep)
        if name not in ordered:
            ordered.append(name)

    for name in strategies:
        add(name)
    precision = answer_precision(profile.answer_precision, device)
    cells = []
    for sc in scenarios:
        for n, seed in enumerate(seeds):
            keys: dict[str, str] = {}
            for name in ordered:
                strat = STRATEGIES.get(name)
                if n > 0 and not strat.fine_tuned:
                    continue
                deps = {d: keys[d] for d in strat.depends_on}
                keys[name] = cell_key(sc, name, profile, model, seed, device, deps, scoring)
                tkey = train_key(sc, name, profile, model, seed, device) if strat.train else ""
                cells.append(Cell(sc.name, name, keys[name], deps, seed, tkey, precision))
    return cells
