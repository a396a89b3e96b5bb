"""Choose RAG's prompt form and decoding on the TRAIN split, never on eval.

Each scenario's quick training slice (24 instruction/response pairs) is asked as RAG asks (retrieved
sources in the prompt, the quick profile's top_k and max_new_tokens), with the embedded model, under
each prompt form (harness.prompts.SOURCE_FORMS), with and without the request to cite sources, and each
setting of `no_repeat_ngram` (0 = plain greedy: answers may not repeat an n-gram of their own). Prints per
scenario and setting: accuracy and partial credit under the scenario's own scorer (the training item's
response is the reference, as for train_accuracy), and the share of answers that ran to max_new_tokens
(loops). Per scenario it then names the layout with the best accuracy (ties: partial credit, then the
fewest loops, then the profile's default): write it as the scenario's `rag_prompt` (a YAML key), where
every row of a retrieving strategy records it. no_repeat_ngram is profile-wide (harness/profiles.py).
Run: python bench/decoding.py [--forms sources_first,instruction_last] [--cite 1,0] [--settings 0,3,5]
     [--scenario PATH ...]
"""

from __future__ import annotations

import argparse
import statistics
import time


from harness.prompts import SOURCE_FORMS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default="0,3,5", help="no_repeat_ngram values to compare (0 = plain greedy)")
    parser.add_argument("--forms", default=",".join(SOURCE_FORMS), help="prompt forms to compare")
    parser.add_argument("--cite", default="1,0", help="with (1) and without (0) the request to cite sources")
    parser.add_argument("--scenario", action="append", help="a scenario YAML (default: the built-in ones)")
    parser.add_argument("--items", type=int, default=24)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="auto: the GPU where there is one, else the CPU")
    a = parser.parse_args()

    from harness.config import builtin_scenario_paths, load_scenario
    from harness.evaluate import as_question
    from harness.generation import generate
    from harness.models import embedder_path, load_causal_lm, load_tokenizer, resolve_device, resolve_model
    from harness.profiles import PROFILES
    from harness.prompts import with_sources
    from harness.retrieval import Embedder, HybridIndex
    from harness.scorers import SCORERS

    prof = PROFILES["quick"]
    ref, device = resolve_model("embedded"), resolve_device(a.device)
    model, tok = load_causal_lm(ref, device), load_tokenizer(ref)
    embedder = Embedder(embedder_path(), device.device)
    settings = [(form, bool(int(c)), int(n)) for form in a.forms.split(",") for c in a.cite.split(",")
                for n in a.settings.split(",")]
    print(f"{ref.name}, quick train slice ({a.items} items), top_k {prof.top_k}, max_new_tokens "
          f"{prof.max_new_tokens}, batch {prof.gen_batch}")
    print(f"{'scenario':<20} {'form':<17} {'cite':>4} {'no_repeat':>9} {'accuracy':>8} {'partial':>8} {'looped':>7} "
          f"{'s':>6}")
    chosen = {}
    for path in a.scenario or builtin_scenario_paths():
        sc = load_scenario(path)
        scorer = SCORERS.get(sc.spec.scorer)
        items = [as_question(t, scorer) for t in sc.train_for("quick")[: a.items]]
        index = HybridIndex(sc.corpus, embedder)
        hits = index.search_many([i.question for i in items], prof.top_k)
        partial_key = next(k for k in ("field_accuracy", "fact_recall", "token_f1") if k in scorer.metrics)
        results = []
        for form, cite, n in settings:
            convs = [with_sources(sc.spec.system_prompt, i.question, [(r.chunk.id, r.chunk.text) for r in rs], form,
                                  cite) for i, rs in zip(items, hits)]
            t0 = time.perf_counter()
            answers = generate(model, tok, convs, prof.max_new_tokens, prof.gen_batch, no_repeat_ngram=n).texts
            secs = time.perf_counter() - t0
            scores = [scorer(ans, item) for ans, item in zip(answers, items)]
            looped = sum(len(tok(ans, add_special_tokens=False)["input_ids"]) >= prof.max_new_tokens - 1
                         for ans in answers) / len(answers)
            acc = _mean(s["accuracy"] for s in scores)
            part = _mean(s[partial_key] for s in scores)
            default = (form, cite) == (prof.source_form, True)
            results.append(((acc, part, -looped, default), form, cite, n))
            print(f"{sc.name:<20} {form:<17} {int(cite):>4} {n:>9} {acc:>8.2f} {part:>8.2f} {looped:>7.2f} {secs:>6.1f}"
                  f"   ({partial_key})", flush=True)
        _, form, cite, n = max(results, key=lambda r: r[0])
        chosen[sc.name] = (form, cite, n)
    print("\nchosen on the train split (accuracy, then partial credit, then fewest loops, then the default):")
    for name, (form, cite, n) in chosen.items():
        print(f"  {name}: rag_prompt: {{form: {form}, cite: {str(cite).lower()}}}   (no_repeat_ngram {n})")


def _mean(values: object) -> float:
    """Mean over the scored items (an item with no fact beyond its question is NaN: left out)."""
    import math

    vals = [v for v in values if not math.isnan(v)]  # type: ignore[attr-defined]
    return statistics.fmean(vals) if vals else float("nan")


if __name__ == "__main__":
    main()
