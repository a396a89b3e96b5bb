"""What a run will do and about how long it will take, said before the first cell (a first-time user's question).

The estimate is arithmetic on the plan (cells to compute, training examples x epochs at most, items answered)
times rates measured on a reference run, named with it: one per precision a CPU computes in, since a CPU without
native bf16 runs the same cells in fp32, about half as fast. It is printed only where a basis applies (the
embedded model's size, a CPU, a precision measured); elsewhere the plan's sizes are printed without a time, never
a guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.cell import Strategy
from harness.evaluate import TRAIN_SAMPLE
from harness.strategies import STRATEGIES

@dataclass(frozen=True)
class Rate:
    s_per_example_epoch: float  # training: seconds per example per epoch
    epoch_share: float  # epochs run by the fit rule, as a share of the cap (mean over the basis run's cells)
    # answering and scoring per item answered (eval, update and own training items), a cell's fixed cost
    # (its process, model load, index) spread over its items, as the basis run measured them together
    s_per_item: float


@dataclass(frozen=True)
class Basis:
    name: str
    rates: dict[str, Rate]  # per strategy kind (kind())


BASIS_DEVICE = "cpu"
BASIS_PARAMS = (50e6, 200e6)  # the bases hold for models of the embedded one's size only
NO_BASIS = "its basis, the embedded 135M model on a CPU, does not apply"
# Each basis is the default `harness run` (quick profile, embedded SmolLM2-135M, torch 2.13 CPU), cold, on a
# 2-core CPU (bench/README.md "The default matrix, cold"), fitted by `python bench/estimate_rates.py RUN` (a
# cell's wall time is the gap to the next cell's start, so its fixed cost is inside s_per_item). By the
# precision the run computes in (harness.models.answer_precision: training autocasts alike): a CPU with native
# bf16 trains and answers under bf16 autocast, one without (AVX2 only) in fp32: the default matrix took 2.2x as long.
BASES = {
    # bench/run-bf16 (the committed run until 2026-12-08): commit 07e8db3, 18 cells, 37 min 57 s, a Xeon with AMX,
    # 2026-12-03
    "bfloat16": Basis("the cells of a quick run on a 2-core CPU with native bf16 (bench/run-bf16; bench/README.md)",
                      {"closed_book": Rate(0.1911, 0.547, 0.98), "retrieval": Rate(0.0, 0.0, 1.30),
                       "raft": Rate(0.9937, 0.533, 1.43)}),
    # bench/run-fp32: commit b39965b, 18 cells, 83 min 49 s, an AMD EPYC with AVX2 only, 2026-12-03
    "float32": Basis("the cells of a quick run on a 2-core CPU without native bf16 (bench/run-fp32; bench/README.md)",
                     {"closed_book": Rate(0.4480, 0.505, 1.71), "retrieval": Rate(0.0, 0.0, 3.02),
                      "raft": Rate(2.7534, 0.483, 2.85)}),
}


def cap_epochs(cfg, n_train: int) -> float:  # noqa: ANN001 - TrainConfig
    """The epochs an adapter trains at most: the profile's epochs, or fewer where max_steps ends it first;
    epoch_share is a share of this (bench/estimate_rates.py fits it)."""
    from harness.training import planned_steps

    if not cfg.epochs:
        return 0.0
    n, _ = planned_steps(cfg, n_train)
    return min(cfg.epochs, n * cfg.batch_size / max(n_train, 1))


def kind(s: Strategy) -> str:
    """Which rate a strategy's cell follows: RAFT trains on prompts with sources; others by what they answer with."""
    if s.train and s.examples is not None:
        return "raft"
    return "retrieval" if s.retrieval else "closed_book"


@dataclass(frozen=True)
class Plan:
    cells: int
    cached: int
    train_cells: int
    max_steps: int  # at most, if every adapter trains to its cap
    items: int
    seconds: float | None  # None: no basis for this model, device or precision
    seconds_cap: float | None
    no_time: str = NO_BASIS  # why there is no time, where there is none
    basis: str = ""  # the basis the time comes from, named


def basis_for(opts, params: float | None) -> tuple[Basis | None, str]:  # noqa: ANN001 - RunOptions
    """The basis that applies to this run, or None and why none does."""
    from harness.models import answer_precision

    if not (opts.device.device == BASIS_DEVICE and params is not None and BASIS_PARAMS[0] <= params <= BASIS_PARAMS[1]):
        return None, NO_BASIS
    precision = answer_precision(opts.profile.answer_precision, opts.device)
    basis = BASES.get(precision)
    if basis is None:
        return None, (f"its bases computed in {' or '.join(BASES)}; this CPU computes in {precision}, which none "
                      "measured")
    return basis, ""


def estimate(opts, cells, cached: set[str], params: float | None) -> Plan:  # noqa: ANN001 - RunOptions, [Cell]
    """The plan's sizes, and a time where a basis applies."""
    from harness.training import planned_steps

    basis, no_time = basis_for(opts, params)
    by_name = {s.name: s for s in opts.scenarios}
    todo = [c for c in cells if c.key not in cached]
    steps = items = train_cells = 0
    seconds = cap = 0.0
    for c in todo:
        s, sc = STRATEGIES.get(c.strategy), by_name[c.scenario]
        sizes = sc.sizes(opts.profile.name)
        n_items = sizes.eval * (2 if sc.corpus_update else 1)
        if s.fine_tuned:
            n_items += min(sizes.train, TRAIN_SAMPLE)
        items += n_items
        t_train = t_cap = 0.0
        if s.train:
            cfg = opts.profile.train_config(c.strategy)
            n, _ = planned_steps(cfg, sizes.train)
            steps += n
            train_cells += 1
        if basis is None:
            continue
        rate = basis.rates[kind(s)]
        if s.train:
            t_cap = rate.s_per_example_epoch * sizes.train * cap_epochs(cfg, sizes.train)
            t_train = t_cap * rate.epoch_share if cfg.stop == "fit" else t_cap
        seconds += rate.s_per_item * n_items + t_train
        cap += rate.s_per_item * n_items + t_cap
    if basis is None:
        return Plan(len(cells), len(cells) - len(todo), train_cells, steps, items, None, None, no_time)
    return Plan(len(cells), len(cells) - len(todo), train_cells, steps, items, seconds, cap, "", basis.name)


def describe(p: Plan) -> str:
    """One line for the terminal, the estimate's basis named."""
    head = (f"plan: {p.cells} cells ({p.cached} from the cache), {p.train_cells} adapters to train "
            f"(at most {p.max_steps:,} steps), {p.items:,} items to answer")
    if p.seconds is None:
        return head + f"; no time estimate ({p.no_time})"
    if p.cells == p.cached:
        return head + "; every cell comes from the cache (seconds)"
    return (head + f"; about {math.ceil(p.seconds / 60)} min (at most {math.ceil(p.seconds_cap / 60)} if every "
            f"adapter trains to its cap), from {p.basis}")
