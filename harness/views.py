"""Tables the app and the report show, derived from a run folder: pure pandas, no UI code.

Keeping them here means the Streamlit pages and the report draw the same numbers, and the
numbers are testable without a browser.
"""

from __future__ import annotations

import math
from typing import Any

from harness.compare import non_dominated, seed_summary
from harness.metrics import shown, sliced
from harness.results import UNDER_TRAINED_BELOW, under_trained_note



def ok_rows(frame: Any) -> Any:
    return frame[frame["status"] == "ok"] if len(frame) else frame


def matrix(frame: Any, metric: str = "accuracy") -> Any:
    """scenario x strategy table of a metric (mean over seeds), strategies in run order."""
    ok = ok_rows(frame)
    if not len(ok) or metric not in ok:
        import pandas as pd

        return pd.DataFrame()
    order = list(dict.fromkeys(ok["strategy"]))
    table = ok.assign(**{metric: ok[metric].astype(float)}).pivot_table(
        index="scenario", columns="strategy", values=metric, aggfunc="mean")
    return table[[s for s in order if s in table.columns]]


def tradeoff_points(frame: Any) -> Any:
    """One point per (scenario, strategy): accuracy with its interval, peak GB, training minutes, Pareto flag."""
    import pandas as pd

    ok = ok_rows(frame)
    if not len(ok):
        return pd.DataFrame(columns=["scenario", "strategy", "accuracy", "ci_low", "ci_high", "peak_gb",
                                     "train_min", "memory_kind", "pareto"])
    g = ok.groupby(["scenario", "strategy"], sort=False)
    pts = pd.DataFrame({
        "accuracy": g["accuracy"].mean().astype(float),
        "ci_low": g["accuracy_ci_low"].mean().astype(float),
        "ci_high": g["accuracy_ci_high"].mean().astype(float),
        "peak_gb": g["peak_memory_mb"].max().astype(float) / 1024,
        "train_min": g["train_seconds"].mean().astype(float).fillna(0.0) / 60,
        "memory_kind": g["memory_kind"].first(),
    }).reset_index()
    pts["pareto"] = False
    for _, sub in pts.groupby("scenario"):
        flags = non_dominated(list(zip(sub["accuracy"].fillna(0.0), sub["peak_gb"], sub["train_min"])))
        pts.loc[sub.index, "pareto"] = flags
    return pts


def qlora_vs_lora(frame: Any) -> Any:
    """Per scenario: QLoRA/LoRA ratios of time per step (the received "~30% slower" is a per-step claim), of
    time to fit (what a team pays: steps differ when one fits sooner) and of training peak memory."""
    import pandas as pd

    ok = ok_rows(frame)
    rows = []
    for scenario, sub in ok.groupby("scenario", sort=False):
        by = sub.groupby("strategy")
        if "lora" in by.groups and "qlora" in by.groups:
            l, q = by.get_group("lora"), by.get_group("qlora")

            def mean(g: Any, c: str) -> float:
                return float(g[c].astype(float).mean()) if c in g else math.nan

            lt, qt = mean(l, "train_seconds"), mean(q, "train_seconds")
            ls, qs = mean(l, "train_seconds_per_step"), mean(q, "train_seconds_per_step")
            lm, qm = float(l["train_peak_memory_mb"].max()), float(q["train_peak_memory_mb"].max())
            rows.append({"scenario": scenario, "lora_s_per_step": ls, "qlora_s_per_step": qs,
                         "step_ratio": qs / ls if ls else math.nan, "lora_epochs": mean(l, "train_epochs"),
                         "qlora_epochs": mean(q, "train_epochs"), "lora_train_s": lt, "qlora_train_s": qt,
                         "time_ratio": qt / lt if lt else math.nan, "lora_peak_mb": lm, "qlora_peak_mb": qm,
                         "memory_ratio": qm / lm if lm else math.nan, "memory_kind": str(l["memory_kind"].iloc[0])})
    return pd.DataFrame(rows)


def slice_table(frame: Any) -> Any:
    """Per (scenario, strategy): accuracy on each slice (seen / composed / unseen / changed) and its item count,
    mean over seeds; slices a scenario does not have are left out."""
    import pandas as pd

    ok = ok_rows(frame)
    rows = []
    for (scenario, strategy), g in ok.groupby(["scenario", "strategy"], sort=False):
        row: dict[str, Any] = {"scenario": scenario, "strategy": strategy}
        for m in sliced():
            n = g[f"n_items_{m.slice}"].astype(float).mean()
            if n == n and n > 0:
                row[f"{m.slice} (n={int(n)})"] = float(g[m.name].astype(float).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def items(samples: list[dict[str, Any]], scenario: str, eval_set: str = "eval") -> list[tuple[str, str]]:
    """(item id, question) of a scenario's question set, in order, once each."""
    seen: dict[str, str] = {}
    for s in samples:
        if s["scenario"] == scenario and s["eval_set"] == eval_set and s["item_id"] not in seen:
            seen[s["item_id"]] = s["question"]
    return list(seen.items())


def answers(samples: list[dict[str, Any]], scenario: str, item_id: str, eval_set: str = "eval") -> list[dict[str, Any]]:
    """Every strategy's record for one item: answer, scores, sources, and its unsupported claims."""
    out = []
    for s in samples:
        if s["scenario"] == scenario and s["item_id"] == item_id and s["eval_set"] == eval_set:
            claims = s.get("claims") or []
            out.append({
                "strategy": s["strategy"], "seed": s.get("seed", 0), "answer": s["answer"],
                "accuracy": s["scores"].get("accuracy"), "faithfulness": s["scores"].get("faithfulness"),
                "sources": list(zip(s.get("retrieved_ids", []), s.get("retrieved_texts", []))),
                "unsupported": [c["claim"] for c in claims if not c.get("supported")],
                "reference": s["reference"], "question": s["question"],
            })
    return out


def compare_runs(a: Any, b: Any, metrics: tuple[str, ...] = ("accuracy", "faithfulness", "peak_memory_mb",
                                                              "train_seconds", "seconds_per_answer")) -> Any:
    """(scenario, strategy) rows of run A and run B side by side, with B - A."""
    def agg(f: Any) -> Any:
        ok = ok_rows(f)
        cols = [m for m in metrics if m in ok.columns]
        return ok.groupby(["scenario", "strategy"], sort=False)[cols].agg(lambda x: x.astype(float).mean())

    left, right = agg(a), agg(b)
    both = left.merge(right, left_index=True, right_index=True, how="outer", suffixes=("_a", "_b"))
    for m in metrics:
        if f"{m}_a" in both and f"{m}_b" in both:
            both[f"{m}_delta"] = both[f"{m}_b"] - both[f"{m}_a"]
    return both.reset_index()


def _fmt(value: Any, digits: int) -> str:
    return "" if value is None or value != value else f"{value:.{digits}f}"


def summary_table(frame: Any) -> str:
    """The end-of-run table: quality beside cost, then flags, seed spreads and cells that did not finish ok."""
    metrics = shown()
    ids = ["scenario", "strategy"] + (["seed"] if frame["seed"].nunique() > 1 else []) + ["status"]
    view = frame[[*ids, *(m.name for m in metrics), "memory_kind"]].copy()
    for m in metrics:
        view[m.name] = view[m.name].map(lambda v, d=m.digits: _fmt(v, d))
    view = view.rename(columns={m.name: m.short for m in metrics})
    lines = [view.to_string(index=False)]
    if frame["seed"].nunique() > 1:
        summ = seed_summary(frame)
        lines.append("over seeds (mean ± sd):")
        for _, r in summ[summ["n_seeds"] > 1].iterrows():
            lines.append(f"  {r['scenario']}/{r['strategy']}: accuracy {r['accuracy_mean']:.2f} ± "
                         f"{r['accuracy_std']:.2f} over {int(r['n_seeds'])} seeds")
    for _, r in frame.iterrows():
        t = r.get("train_accuracy")
        if r["status"] == "ok" and t is not None and t == t and t < UNDER_TRAINED_BELOW:
            lines.append(f"{r['scenario']}: {under_trained_note(r['strategy'], t, bool(r['retrieves']))}")
    for _, r in frame[frame["status"] == "ok"].iterrows():
        if r.get("recognises_not_writes") is True or r.get("recognises_not_writes") == 1:
            lines.append(f"{r['scenario']}: {r['strategy']} recognises but cannot write: multiple choice "
                         f"{r['mc_accuracy_norm']:.2f} vs accuracy {r['accuracy']:.2f} (a limit of the measured model)")
    for _, r in frame[frame["status"] != "ok"].iterrows():
        lines.append(f"{r['scenario']}/{r['strategy']}: {r['status']}: {r['error']}")
    return "\n".join(lines)
