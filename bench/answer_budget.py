"""Would a per-scenario answer budget (lm-eval's max_gen_toks per task) save answering time, and change any score?

The quick profile lets every answer run to max_new_tokens (64). A budget read off the TRAIN split alone,
ceil(HEADROOM x the longest training response with the citation of its sources, in tokens), capped at the
profile's, would stop loops early where answers are short. Greedy decoding writes the same first tokens
whatever the budget, so cutting a finished run's answers at the budget is what answering with it would have
written: this re-scores the cut answers with the scenario's scorer and counts the accuracies that change. Eval
items are scored, never used to choose the budget.
Run: python bench/answer_budget.py RUN   (e.g. docs/run)
"""

from __future__ import annotations

import argparse
import collections
import json
import math
from pathlib import Path

HEADROOM = 1.25


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    a = ap.parse_args()

    from harness.config import builtin_scenario_paths, load_scenario
    from harness.models import load_tokenizer, resolve_model
    from harness.profiles import PROFILES
    from harness.prompts import cite
    from harness.scorers import SCORERS

    manifest = json.loads((a.run / "manifest.json").read_text())
    prof = PROFILES[manifest["profile"]["name"]]
    tok = load_tokenizer(resolve_model("embedded"))

    def n_tokens(text: str) -> int:
        return len(tok(text, add_special_tokens=False)["input_ids"])

    samples = [json.loads(line) for line in (a.run / "samples.jsonl").open()]
    print("| scenario | longest training answer (tokens) | budget | answers cut | accuracy changed |")
    print("|---|---|---|---|---|")
    for path in builtin_scenario_paths():
        sc = load_scenario(path)
        if sc.name not in manifest["scenarios"]:
            continue
        longest = max(n_tokens(t.response + cite(t.source_doc_ids)) for t in sc.train_for(prof.name))
        budget = min(prof.max_new_tokens, math.ceil(HEADROOM * longest))
        scorer = SCORERS.get(sc.spec.scorer)
        items = {i.id: i for i in sc.eval_for(prof.name) + sc.eval_update_for(prof.name)}
        cut: collections.Counter[str] = collections.Counter()
        changed = 0
        for s in samples:
            if s["scenario"] != sc.name or s["eval_set"] == "train":
                continue
            ids = tok(s["answer"], add_special_tokens=False)["input_ids"]
            if len(ids) <= budget:
                continue
            cut[s["strategy"]] += 1
            item = items[s["item_id"]]
            changed += scorer(s["answer"], item)["accuracy"] != scorer(tok.decode(ids[:budget]), item)["accuracy"]
        shown = ", ".join(f"{k} {v}" for k, v in sorted(cut.items())) or "none"
        print(f"| {sc.name} | {longest} | {budget} of {prof.max_new_tokens} | {shown} | {changed} |")


if __name__ == "__main__":
    main()
