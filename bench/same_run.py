"""Two run folders of the same matrix, compared cell by cell on the same items: did a speed-up move a score?

For each scenario x strategy both runs have, and each of accuracy, accuracy_updated, train accuracy,
faithfulness, mc_accuracy and mc_accuracy_norm: both means on the shared items, the difference, its 95%
paired interval and p-value (harness.stats.paired: exact McNemar and Newcombe for 0/1 scores, sign-flip
permutation and BCa otherwise), and the share
of answers that are word for word the same. A speed-up keeps the table when no difference is
significant and each stays inside the other run's own interval. Also prints what each run recorded of
the setting under test (answer_precision, train_autocast). Run: python bench/same_run.py RUN_A RUN_B
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

# (eval set, score key, label): the accuracy table's columns, and the scores a precision could move
METRICS = (("eval", "accuracy", "accuracy"), ("update", "accuracy", "accuracy_updated"),
           ("train", "accuracy", "train_accuracy"), ("eval", "faithfulness", "faithfulness"),
           ("eval", "mc_accuracy", "mc_accuracy"), ("eval", "mc_accuracy_norm", "mc_accuracy_norm"))


def answers(samples: list[dict[str, Any]], scenario: str, strategy: str) -> dict[tuple[str, str], str]:
    return {(s["eval_set"], s["item_id"]): s["answer"] for s in samples
            if s["scenario"] == scenario and s["strategy"] == strategy}


def _read(run: str) -> tuple[Any, list[dict[str, Any]], dict[str, Any]]:
    """A run folder; one of an older run format too (a speed-up is compared against the run before it), read
    raw: only the columns and per-item scores compared here are used, and those kept their meaning."""
    import json
    from pathlib import Path

    import pandas as pd

    from harness.errors import HarnessError
    from harness.results import read_run

    try:
        return read_run(run)
    except HarnessError as exc:
        if "format" not in str(exc):
            raise
        path = Path(run)
        samples = [json.loads(line) for line in (path / "samples.jsonl").read_text().splitlines() if line.strip()]
        print(f"note: {run} is of an older run format; read raw")
        return pd.read_parquet(path / "results.parquet"), samples, json.loads((path / "manifest.json").read_text())


def main() -> None:
    from harness.results import item_scores, read_run
    from harness.stats import paired

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_a")
    p.add_argument("run_b")
    a = p.parse_args()
    (fa, sa, _), (fb, sb, _) = _read(a.run_a), _read(a.run_b)
    cells = [(r.scenario, r.strategy) for r in fb.itertuples() if r.status == "ok"
             and ((fa.scenario == r.scenario) & (fa.strategy == r.strategy) & (fa.status == "ok")).any()]
    print(f"A = {a.run_a}, B = {a.run_b}; per cell: A -> B on the shared items, B - A [95% paired interval], p")
    for col in ("answer_precision", "train_autocast"):
        print(f"  {col}: A {sorted(map(str, set(fa[col])))}, B {sorted(map(str, set(fb[col])))}")
    print("\n| scenario | strategy | metric | A | B | B - A [95%] | p | same answers |")
    print("|---|---|---|---|---|---|---|---|")
    significant = 0
    for scenario, strategy in cells:
        ans_a, ans_b = answers(sa, scenario, strategy), answers(sb, scenario, strategy)
        for eval_set, key, label in METRICS:
            xa = item_scores(sa, eval_set, key, scenario, strategy)
            xb = item_scores(sb, eval_set, key, scenario, strategy)
            items = sorted(set(xa) & set(xb))
            if not items:
                continue
            va, vb = [xa[i] for i in items], [xb[i] for i in items]
            r = paired(va, vb)  # B - A on the same items
            low, high, pval = r.ci_low, r.ci_high, r.p
            significant += pval < 0.05
            same = sum(ans_a.get((eval_set, i)) == ans_b.get((eval_set, i)) for i in items)
            print(f"| {scenario} | {strategy} | {label} | {np.mean(va):.2f} | {np.mean(vb):.2f} | "
                  f"{np.mean(vb) - np.mean(va):+.2f} [{low:+.2f}, {high:+.2f}] | "
                  f"{pval:.2f} | {same}/{len(items)} |")
    print(f"\n{significant} difference(s) with p < 0.05 over {len(cells)} cells")


if __name__ == "__main__":
    main()
