"""Fit the plan estimate's rates (harness/run/estimate.py BASES) to a finished run: where the run's time went.

    python bench/estimate_rates.py runs/quick-new3

A cell's wall time is the gap from its start (`created_at`) to the next cell's start (the last one: to the
manifest's `finished`), so its fixed cost (process, model load, index) is inside its seconds per item. Per
strategy kind (estimate.kind): seconds per training example per epoch run (cells that trained their own
adapter), the share of the cap's epochs the fit rule ran, and seconds per item answered (eval, update and
own training items) outside training. Prints the rates to paste as the basis of the run's precision
(harness.models.answer_precision), and the run's measured wall time; `harness run` prints the estimate those
rates give for its plan.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
from collections import defaultdict
from pathlib import Path


def _t(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    a = ap.parse_args()

    import pandas as pd

    from harness.config import builtin_scenario_paths, load_scenario
    from harness.profiles import PROFILES
    from harness.results import read_run
    from harness.run.estimate import cap_epochs, kind
    from harness.strategies import STRATEGIES

    frame, _, manifest = read_run(a.run)
    rows = frame.sort_values("created_at").reset_index(drop=True)
    profile = PROFILES[manifest["profile"]["name"]]
    builtin = {p.stem: p for p in builtin_scenario_paths()}  # a run made in another checkout: its path is not here
    scenarios = {name: load_scenario(Path(s["path"]) if Path(s["path"]).exists() else builtin[name])
                 for name, s in manifest["scenarios"].items()}
    starts = [_t(s) for s in rows["created_at"]] + ([_t(manifest["finished"])] if manifest.get("finished") else [])
    train_s, example_epochs, shares = defaultdict(float), defaultdict(float), defaultdict(list)
    answer_s, items = defaultdict(float), defaultdict(float)
    for n, r in rows.iterrows():
        if n + 1 >= len(starts):
            print(f"{r['scenario']}/{r['strategy']}: no end time (the run did not finish), left out")
            continue
        wall = (starts[n + 1] - starts[n]).total_seconds()
        k = kind(STRATEGIES.get(r["strategy"]))
        reused = isinstance(r.get("train_reused_from"), str) and bool(r["train_reused_from"])
        own = not reused and r.get("train_cached") is False and float(r["train_seconds"] or 0) > 0
        n_items = sum(0 if pd.isna(r.get(c)) else int(r[c]) for c in ("n_items", "n_items_updated", "n_items_train"))
        t = float(r["train_seconds"]) if own else 0.0
        if own:
            n_train = scenarios[r["scenario"]].sizes(profile.name).train
            cap = cap_epochs(profile.train_config(r["strategy"]), n_train)
            train_s[k] += t
            example_epochs[k] += n_train * r["train_epochs"]
            shares[k].append(r["train_epochs"] / cap)
        answer_s[k] += wall - t
        items[k] += n_items
        print(f"{r['scenario']:<20} {r['strategy']:<9} wall {wall:6.0f} s  train {t:5.0f} s  items {n_items:3d}  "
              f"epochs {r['train_epochs'] if own else '-'}")
    rates = {k: (train_s[k] / example_epochs[k] if example_epochs[k] else 0.0,
                 sum(shares[k]) / len(shares[k]) if shares[k] else 0.0,
                 answer_s[k] / items[k] if items[k] else math.nan) for k in items}
    precision = ", ".join(sorted(set(rows["answer_precision"].dropna())))
    print(f"rates of the {precision} basis: {{" + ", ".join(f'"{k}": Rate({a:.4f}, {b:.3f}, {c:.2f})'
                                                   for k, (a, b, c) in rates.items()) + "}")
    measured = (starts[-1] - starts[0]).total_seconds() if manifest.get("finished") else math.nan
    print(f"measured wall time of the cells: {measured / 60:.1f} min ({len(rows)} cells)")


if __name__ == "__main__":
    main()
