"""The matrix: plan cells, run each once, cache it atomically, and (re)write the run folder.

A cell is (scenario, strategy, model, seed, profile, device). Its key hashes everything that
determines its result, so a finished cell is never recomputed: a rerun of the same command, or a
run restarted after SIGKILL, reads finished cells from the cache (HARNESS_CACHE_DIR/cells) and
computes only the rest. The run folder is rebuilt from the plan after every cell, so it always holds
exactly one row per finished cell, and a crash loses at most the cell in flight.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import gc
import hashlib
import json
import os
import subprocess
import sys
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from harness import __version__
from harness.config import Scenario, project_root
from harness.errors import HarnessError
from harness.models import DeviceInfo, ModelRef, cache_dir
from harness.profiles import RunProfile
from harness.results import COMPARISONS_FILE, MANIFEST_FILE, RESULTS_FILE, SAMPLES_FILE, to_frame, with_intervals
from harness.strategies import STRATEGIES, CellSkipped

CELL_FORMAT = 3  # bump when a change makes cached cells incomparable with new ones (3: metrics layer)
TRAIN_FORMAT = 3  # bump when the training loop changes what an adapter learns (3: LoRA init seeded per cell)
PACKAGES = ("torch", "transformers", "peft", "bitsandbytes", "accelerate", "sentence-transformers", "faiss-cpu",
            "ragas", "lm_eval", "pandas", "numpy")


# ----------------------------------------------------------------------------- provenance
@functools.cache
def package_versions() -> dict[str, str]:
    out = {"harness": __version__, "python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@functools.cache
def git_commit() -> str:
    """The checkout's commit (+ "-dirty"), read once: the code a process runs does not change under it."""
    root = project_root()
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("-dirty" if dirty else "")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _atomic_parquet(path: Path, frame: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- progress
class Progress:
    """tqdm bars: one over cells, and a transient one over training steps or answers."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.outer: Any = None

    def cells(self, total: int) -> Any:
        from tqdm.auto import tqdm

        self.outer = tqdm(total=total, desc="cells", unit="cell", disable=not self.enabled, position=0)
        return self.outer

    def _inner(self, total: int, desc: str, unit: str) -> Any:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, leave=False, disable=not self.enabled, position=1)

    def step_callback(self, total: int, desc: str) -> Any:
        bar = self._inner(total, desc, "step")

        def on_step(step: int, loss: float) -> None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")
            if step >= total:
                bar.close()

        return on_step

    def answer_callback(self, total: int, desc: str) -> Any:
        bar = self._inner(total, f"answers ({desc})", "item")

        def on_batch(n: int) -> None:
            bar.update(n)
            if bar.n >= total:
                bar.close()

        return on_batch


# ----------------------------------------------------------------------------- shared state of a run
class RunContext:
    """What cells of one run share: the tokenizer, the base model, the embedder and the indexes."""

    def __init__(self, model: ModelRef, device: DeviceInfo, progress: Progress, judge: Any = None) -> None:
        self.model_ref, self.device, self.progress, self.judge = model, device, progress, judge
        self._tokenizer: Any = None
        self._base: Any = None
        self._embedder: Any = None
        self._faithfulness: Any = None
        self._indexes: dict[tuple[str, str], Any] = {}

    def embedder(self) -> Any:
        if self._embedder is None:
            from harness.models import embedder_path
            from harness.retrieval import Embedder

            self._embedder = Embedder(embedder_path(), self.device.device)
        return self._embedder

    def faithfulness(self) -> Any:
        """The run's faithfulness scorer: ragas with the --judge endpoint, else the offline claim scorer."""
        if self._faithfulness is None:
            if self.judge is not None:
                from harness.judge import RagasJudge

                self._faithfulness = RagasJudge(self.judge)
            else:
                from harness.faithfulness import OfflineFaithfulness

                self._faithfulness = OfflineFaithfulness(self.embedder().encode)
        return self._faithfulness

    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            from harness.models import load_tokenizer

            self._tokenizer = load_tokenizer(self.model_ref)
        return self._tokenizer

    def base_model(self) -> Any:
        if self._base is None:
            from harness.models import load_causal_lm

            self._base = load_causal_lm(self.model_ref, self.device)
        return self._base

    def release_base_model(self) -> None:
        self._base = None
        gc.collect()

    def index(self, scenario: str, label: str, corpus: list) -> Any:
        key = (scenario, label)
        if key not in self._indexes:
            from harness.retrieval import HybridIndex

            self._indexes[key] = HybridIndex(corpus, self.embedder())
        return self._indexes[key]


@dataclass(frozen=True)
class Cell:
    scenario: str
    strategy: str
    key: str
    deps: dict[str, str] = field(default_factory=dict)  # strategy -> cell key
    seed: int = 0
    train_key: str = ""  # cells that train: the key of their adapter in the artifact cache


@dataclass
class CellTask:
    """Everything a strategy needs to run one cell."""

    scenario: Scenario
    profile: RunProfile
    model: ModelRef
    device: DeviceInfo
    seed: int
    artifact_dir: Path  # where this cell's adapter lives: keyed by what training depends on only
    ctx: RunContext
    deps: dict[str, dict[str, Any]]

    @property
    def profile_name(self) -> str:
        return self.profile.name


# ----------------------------------------------------------------------------- planning
def _strategy_fingerprint(name: str) -> dict[str, Any]:
    s = STRATEGIES.get(name)
    fields = {f.name: getattr(s, f.name) for f in dataclasses.fields(s) if f.name != "examples"}
    fields["examples"] = f"{s.examples.__module__}.{s.examples.__qualname__}"
    if s.retrieval:
        from harness.retrieval import RETRIEVER_VERSION

        fields["retriever"] = RETRIEVER_VERSION
    return fields


def _hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]


def train_key(scenario: Scenario, strategy: str, profile: RunProfile, model: ModelRef, seed: int,
              device: DeviceInfo) -> str:
    """What an adapter depends on, and nothing that only affects evaluation: a new metric, another eval
    slice or file, or answer length re-scores a cell with its cached adapter instead of retraining it."""
    fp = _strategy_fingerprint(strategy)
    fp.pop("retriever", None)
    prof = dataclasses.asdict(profile)
    files = {k: v for k, v in scenario.file_hashes.items() if k in ("train", "corpus")}  # corpus: raft's sources
    return _hash({
        "format": TRAIN_FORMAT, "scenario": scenario.name, "files": files, "system": scenario.spec.system_prompt,
        "train_size": scenario.sizes(profile.name).train, "strategy": fp,
        "train": prof["train"], "raft": [prof["raft_distractors"], prof["raft_p_no_gold"]],
        "model": model.identity, "seed": seed, "device": [device.device, device.dtype],
    })


def cell_key(scenario: Scenario, strategy: str, profile: RunProfile, model: ModelRef, seed: int,
             device: DeviceInfo, dep_keys: dict[str, str], scoring: str = "") -> str:
    payload = {
        "format": CELL_FORMAT,
        "scoring": scoring,
        "scenario": scenario.name,
        "scenario_files": scenario.file_hashes,
        "sizes": scenario.sizes(profile.name).model_dump(),
        "strategy": _strategy_fingerprint(strategy),
        "profile": dataclasses.asdict(profile),
        "model": model.identity,
        "seed": seed,
        "device": [device.device, device.dtype],
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
    cells = []
    for sc in scenarios:
        for n, seed in enumerate(seeds):
            keys: dict[str, str] = {}
            for name in ordered:
                strat = STRATEGIES.get(name)
                if n > 0 and not (strat.train or strat.depends_on):
                    continue
                deps = {d: keys[d] for d in strat.depends_on}
                keys[name] = cell_key(sc, name, profile, model, seed, device, deps, scoring)
                tkey = train_key(sc, name, profile, model, seed, device) if strat.train else ""
                cells.append(Cell(sc.name, name, keys[name], deps, seed, tkey))
    return cells


# ----------------------------------------------------------------------------- the run
@dataclass
class RunOptions:
    scenarios: list[Scenario]
    strategies: list[str] | None
    profile: RunProfile
    model: ModelRef
    device: DeviceInfo
    seeds: list[int]
    out: Path
    argv: list[str]
    progress: bool = True
    judge: Any = None  # a judge.JudgeConfig: faithfulness by ragas + that endpoint instead of offline

    @property
    def scoring(self) -> str:
        """Which faithfulness method scores the cells: part of every cell key."""
        from harness.faithfulness import OFFLINE_METHOD

        return self.judge.method + "@" + self.judge.base_url if self.judge else OFFLINE_METHOD


def _cache_file(key: str) -> Path:
    return cache_dir() / "cells" / f"{key}.json"


def load_cached(key: str) -> dict[str, Any] | None:
    """A finished ok cell from the cache. Failed cells are retried; skipped ones re-decided (cheap, and a
    skip can lift: a hybrid skipped for a failed lora cell runs once lora succeeds)."""
    path = _cache_file(key)
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if rec.get("row", {}).get("status") != "ok":
        return None
    adapter = rec["row"].get("adapter_path")
    if adapter and not Path(adapter).is_dir():
        return None  # the adapter a dependent cell would reuse is gone: recompute
    return rec


def run_cell(cell: Cell, opts: RunOptions, ctx: RunContext, done: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Compute one cell; never raises for a strategy's own failure (the row says failed and why)."""
    from harness.strategies.base import execute

    scenario = next(s for s in opts.scenarios if s.name == cell.scenario)
    row: dict[str, Any] = {
        "scenario": cell.scenario, "strategy": cell.strategy, "model": opts.model.name, "seed": cell.seed,
        "profile": opts.profile.name, "status": "ok", "error": None,
        "model_identity": opts.model.identity, "device": opts.device.device, "device_name": opts.device.name,
        "dtype": opts.device.dtype, "git_commit": git_commit(), "harness_version": __version__,
        "versions": json.dumps(package_versions(), sort_keys=True), "cell_key": cell.key, "created_at": _now(),
    }
    task = CellTask(scenario, opts.profile, opts.model, opts.device, cell.seed,
                    cache_dir() / "artifacts" / (cell.train_key or cell.key), ctx,
                    {s: done[k]["row"] for s, k in cell.deps.items()})
    samples: list[dict[str, Any]] = []
    tb = None
    try:
        measured = execute(STRATEGIES.get(cell.strategy), task)
        samples = measured.pop("samples")
        row.update(measured)
    except CellSkipped as exc:
        row.update(status="skipped", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one failing cell must not stop the matrix
        row.update(status="failed", error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        tb = traceback.format_exc()
    finally:
        gc.collect()
    rec = {"row": row, "samples": [{"scenario": cell.scenario, "strategy": cell.strategy, "seed": cell.seed, **s}
                                   for s in samples]}
    if tb:
        rec["traceback"] = tb
    _atomic_write(_cache_file(cell.key), json.dumps(rec, default=str))
    return rec


def write_run_folder(opts: RunOptions, cells: list[Cell], done: dict[str, dict[str, Any]], started: str,
                     finished: bool) -> Any:
    rows = [with_intervals(done[c.key]["row"], done[c.key]["samples"]) for c in cells if c.key in done]
    frame = to_frame(rows)
    opts.out.mkdir(parents=True, exist_ok=True)
    _atomic_parquet(opts.out / RESULTS_FILE, frame)
    samples = [s for c in cells if c.key in done for s in done[c.key]["samples"]]
    if rows:
        from harness.compare import pairwise

        _atomic_parquet(opts.out / COMPARISONS_FILE, pairwise(frame, samples))
    lines = [json.dumps(s, default=str) for s in samples]
    _atomic_write(opts.out / SAMPLES_FILE, "\n".join(lines) + ("\n" if lines else ""))
    manifest = {
        "command": opts.argv,
        "started": started,
        "finished": _now() if finished else None,
        "complete": finished and len(rows) == len(cells),
        "git_commit": git_commit(),
        "versions": package_versions(),
        "device": dataclasses.asdict(opts.device),
        "cpu_count": os.cpu_count(),
        "ram_mb": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20,
        "model": dataclasses.asdict(opts.model),
        "profile": dataclasses.asdict(opts.profile),
        "seeds": list(opts.seeds),
        "faithfulness": opts.scoring.split("@")[0],
        "judge": {"base_url": opts.judge.base_url, "model": opts.judge.model} if opts.judge else None,
        "scenarios": {s.name: {"path": str(s.path), "files": s.file_hashes} for s in opts.scenarios},
        "cache_dir": str(cache_dir()),
        "cells": [{"scenario": c.scenario, "strategy": c.strategy, "seed": c.seed, "key": c.key,
                   "status": done[c.key]["row"]["status"] if c.key in done else "pending"} for c in cells],
    }
    _atomic_write(opts.out / MANIFEST_FILE, json.dumps(manifest, indent=2, default=str))
    return frame


def run_matrix(opts: RunOptions) -> Any:
    """Run (or resume) the matrix and return the results frame; the run folder is current after each cell."""
    strategies = opts.strategies or list(opts.profile.strategies)
    cells = plan_cells(opts.scenarios, strategies, opts.profile, opts.model, opts.seeds, opts.device, opts.scoring)
    started = _now()
    progress = Progress(opts.progress)
    ctx = RunContext(opts.model, opts.device, progress, opts.judge)
    done: dict[str, dict[str, Any]] = {}
    bar = progress.cells(len(cells))
    for cell in cells:
        bar.set_description(f"{cell.scenario}/{cell.strategy}" + (f"/seed {cell.seed}" if len(opts.seeds) > 1 else ""))
        cached = load_cached(cell.key)
        done[cell.key] = cached if cached is not None else run_cell(cell, opts, ctx, done)
        bar.update(1)
        write_run_folder(opts, cells, done, started, finished=False)
    bar.close()
    return write_run_folder(opts, cells, done, started, finished=True)


def _fmt(value: Any, digits: int) -> str:
    return "" if value is None or value != value else f"{value:.{digits}f}"


def summary_table(frame: Any) -> str:
    """The end-of-run table: quality beside cost, then flags, seed spreads and cells that did not finish ok."""
    from harness.results import UNDER_TRAINED_BELOW, under_trained_note

    formats = {"accuracy": 2, "accuracy_updated": 2, "train_accuracy": 2, "faithfulness": 2, "mc_accuracy": 2,
               "hit_at_k": 2, "train_seconds": 0, "peak_memory_mb": 0, "seconds_per_answer": 2}
    ids = ["scenario", "strategy"] + (["seed"] if frame["seed"].nunique() > 1 else []) + ["status"]
    view = frame[[*ids, *formats, "memory_kind"]].copy()
    for col, digits in formats.items():
        view[col] = view[col].map(lambda v, d=digits: _fmt(v, d))
    view = view.rename(columns={"accuracy_updated": "acc_updated", "train_accuracy": "train_acc",
                                "faithfulness": "faithful", "mc_accuracy": "mc_acc", "train_seconds": "train_s",
                                "peak_memory_mb": "peak_mb", "seconds_per_answer": "s/answer"})
    lines = [view.to_string(index=False)]
    if frame["seed"].nunique() > 1:
        from harness.compare import seed_summary

        summ = seed_summary(frame)
        lines.append("over seeds (mean ± sd):")
        for _, r in summ[summ["n_seeds"] > 1].iterrows():
            lines.append(f"  {r['scenario']}/{r['strategy']}: accuracy {r['accuracy_mean']:.2f} ± "
                         f"{r['accuracy_std']:.2f} over {int(r['n_seeds'])} seeds")
    for _, r in frame.iterrows():
        t = r.get("train_accuracy")
        if r["status"] == "ok" and t is not None and t == t and t < UNDER_TRAINED_BELOW:
            with_sources = r.get("hit_at_k") is not None and r.get("hit_at_k") == r.get("hit_at_k")
            lines.append(f"{r['scenario']}: {under_trained_note(r['strategy'], t, with_sources)}")
    for _, r in frame[frame["status"] != "ok"].iterrows():
        lines.append(f"{r['scenario']}/{r['strategy']}: {r['status']}: {r['error']}")
    return "\n".join(lines)
