"""The procurement report: one self-contained document from a run folder and the buyer's constraints.

HTML embeds its charts (PNG, base64); Markdown writes them next to the file; PDF is the HTML printed
by headless Chromium (or WeasyPrint when installed). Every text that comes from users or models
(scenario names, descriptions, answers) is escaped.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
import shutil
import subprocess
import tempfile
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.faithfulness import CALIBRATION
from harness.metrics import Metric, shown
from harness.constraints import Constraints
from harness.recommend import KIND_WORDS, Recommendation, decided_on, main_caveat, recommend
from harness.results import read_run
from harness.sizing import HEADROOM, KNOWN, Arch, Setting, gpu_for, predict
from harness.views import matrix, qlora_vs_lora, slice_table, tradeoff_points

@dataclass
class Chart:
    name: str
    title: str
    png: bytes


def _num(v: Any, digits: int = 2) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return "–"
    return "–" if math.isnan(x) else f"{x:.{digits}f}"


def _cell(row: Any, m: Metric) -> str:
    """One value of the evidence table, written the way the metric table says."""
    v = row[m.name]
    if m.display == "ci":
        return f"{_num(v, m.digits)} [{_num(row[f'{m.name}_ci_low'], m.digits)}, {_num(row[f'{m.name}_ci_high'], m.digits)}]"
    if m.display == "gb":
        return f"{_num(float(v) / 1024)} GB" if v is not None and v == v else "–"
    if m.display == "min":
        return f"{_num(float(v or 0) / 60, 1)} min"
    return _num(v, m.digits)


# ----------------------------------------------------------------------------- charts
def charts(frame: Any) -> list[Chart]:
    """The report's charts. Names come from users' files: drawn as plain text, never parsed as mathtext (a
    scenario called "cost $x$" made matplotlib raise while drawing)."""
    import matplotlib

    matplotlib.use("Agg")
    with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
        return _charts(frame)


def _charts(frame: Any) -> list[Chart]:
    import matplotlib.pyplot as plt

    out = []
    table = matrix(frame, "accuracy")
    if len(table):
        fig, ax = plt.subplots(figsize=(1.4 * len(table.columns) + 2.5, 0.7 * len(table) + 1.6))
        im = ax.imshow(table.values.astype(float), vmin=0, vmax=1, cmap="Blues", aspect="auto")
        ax.set_xticks(range(len(table.columns)), table.columns)
        ax.set_yticks(range(len(table.index)), table.index)
        for i in range(len(table.index)):
            for j in range(len(table.columns)):
                v = table.values[i, j]
                if v == v:
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", color="white" if v > 0.5 else "black")
        fig.colorbar(im, ax=ax, label="accuracy")
        ax.set_title("Accuracy on held-out questions")
        out.append(Chart("accuracy_heatmap", "Accuracy per scenario and strategy", _png(fig)))
    pts = tradeoff_points(frame)
    scenarios = list(dict.fromkeys(pts["scenario"]))
    if scenarios:
        fig, axes = plt.subplots(1, len(scenarios), figsize=(4.2 * len(scenarios), 3.6), squeeze=False)
        for ax, scenario in zip(axes[0], scenarios):
            sub = pts[pts["scenario"] == scenario]
            err = [(sub["accuracy"] - sub["ci_low"]).fillna(0).clip(lower=0),
                   (sub["ci_high"] - sub["accuracy"]).fillna(0).clip(lower=0)]
            ax.errorbar(sub["peak_gb"], sub["accuracy"], yerr=err, fmt="o", capsize=3)
            front = sub[sub["pareto"]].sort_values("peak_gb")
            ax.plot(front["peak_gb"], front["accuracy"], ":", label="Pareto front")
            for _, r in sub.iterrows():
                ax.annotate(r["strategy"], (r["peak_gb"], r["accuracy"]), textcoords="offset points", xytext=(4, 4),
                            fontsize=8)
            ax.set_title(scenario, fontsize=10)
            ax.set_xlabel(f"peak memory, GB ({sub['memory_kind'].iloc[0]})")
            ax.set_ylim(-0.05, 1.05)
        axes[0][0].set_ylabel("accuracy (95% CI)")
        axes[0][0].legend(fontsize=8)
        fig.tight_layout()
        out.append(Chart("accuracy_vs_memory", "Accuracy against peak memory", _png(fig)))
    return out


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


# ----------------------------------------------------------------------------- content
@dataclass
class Report:
    title: str
    run: Path
    frame: Any
    samples: list[dict[str, Any]]
    manifest: dict[str, Any]
    constraints: Constraints
    recs: dict[str, Recommendation]
    charts: list[Chart]
    target: Arch | None = None  # the model the team will deploy (--target-model), for the sizing section


def build(run: Path, constraints: Constraints, target: Arch | None = None) -> Report:
    frame, samples, manifest = read_run(run)
    if not (frame["status"] == "ok").any():
        raise HarnessError(f"--run {run}: no finished cell yet; nothing to report")
    recs = recommend(frame, samples, constraints)
    model = manifest.get("model", {}).get("name", "?")
    return Report(f"Adapting {model}: RAG, LoRA, QLoRA or a hybrid?", run, frame, samples, manifest, constraints,
                  recs, charts(frame), target)


def _reused(source: Any) -> str:
    """" (lora's adapter)" for a row that borrowed another strategy's adapter; "" otherwise. Parquet reads an
    absent value as NaN, which is truthy: qlora's and raft's rows were labelled as borrowing lora's."""
    return f" ({source}'s adapter)" if isinstance(source, str) and source else ""


def _sections(r: Report) -> list[tuple[str, list[tuple[str, Any]]]]:
    """The report as (heading, blocks); a block is ("p", text) | ("list", [text]) | ("table", (head, rows))
    | ("chart", Chart). Text here is plain; the renderers escape it."""
    m = r.manifest
    dev = m.get("device", {})
    answered = _answered_in(r.frame)
    secs: list[tuple[str, list[tuple[str, Any]]]] = []
    summary = [("p", f"Measured on {m.get('model', {}).get('name')} ({dev.get('name')}, {dev.get('device')}, "
                     f"{dev.get('dtype')}{answered}), profile {m.get('profile', {}).get('name')}, "
                     f"seeds {m.get('seeds')}. "
                     f"Constraints assumed: {r.constraints.describe()}.")]
    for name, rec in r.recs.items():  # the answer first: a verdict card per scenario, the numbers after
        card = [f"{name}: {rec.recommended} ({KIND_WORDS[rec.verdict]}). {rec.headline}",
                f"Decided on: {decided_on(rec)}."]
        if rec.shown:
            card.append(f"Shown: {rec.shown}.")
        caveat = main_caveat(rec)
        if caveat:
            card.append(f"Caveat: {caveat}")
        summary.append(("list", card))
    secs.append(("Verdicts", summary))

    for name, rec in r.recs.items():
        rows = []
        sub = r.frame[(r.frame["scenario"] == name) & (r.frame["status"] == "ok")]
        for _, row in sub.iterrows():
            label = row["strategy"] + (f" (seed {row['seed']})" if sub["seed"].nunique() > 1 else "")
            rows.append([label] + [_cell(row, m) for m in shown()])
        blocks: list[tuple[str, Any]] = [("p", f"Recommended: {rec.recommended} ({KIND_WORDS[rec.verdict]})"
                                          + (f"; runner-up: {rec.runner_up}." if rec.runner_up else "."))]
        blocks.append(("p", rec.headline))
        blocks.append(("table", (["strategy"] + [m.report for m in shown()], rows)))
        blocks.append(("list", rec.rationale))
        if rec.flips:
            blocks.append(("p", "What would change the choice: " + "; ".join(rec.flips) + "."))
        if rec.comparisons:
            blocks.append(("table", _comparison_table(rec)))
        trained = sub[sub["train_seconds"].astype(float).fillna(0) > 0]
        if len(trained):
            blocks.append(("p", "Training, until each adapter fit its training split (the same rule for every "
                                "strategy; time to fit is what a team pays, seconds per step what a step costs):"))
            blocks.append(("table", (["strategy", "epochs", "steps", "stopped", "s/step", "time to fit"],
                                     [[t["strategy"] + _reused(t.get("train_reused_from")),
                                       _num(t.get("train_epochs"), 1), _num(t.get("train_steps"), 0),
                                       str(t.get("train_stop") or "–"), _num(t.get("train_seconds_per_step")),
                                       f"{_num(float(t['train_seconds']) / 60, 1)} min"]
                                      for _, t in trained.iterrows()])))
        slices = slice_table(r.frame[r.frame["scenario"] == name])
        if len(slices.columns) > 2:
            heads = [c for c in slices.columns if c not in ("scenario", "strategy")]
            blocks.append(("p", "Accuracy by slice (seen: one training response states the whole answer; composed: "
                                "training states its pieces apart; unseen: training never states a piece; changed: "
                                "the corpus update changed the answer):"))
            blocks.append(("table", (["strategy", *heads], [[row["strategy"], *(_num(row[h]) for h in heads)]
                                                            for _, row in slices.iterrows()])))
        secs.append((f"Evidence: {name}", blocks))

    secs.append(("Charts", [("chart", c) for c in r.charts]))
    sizing: list[tuple[str, Any]] = [("list", _sizing(r))]
    ratios = qlora_vs_lora(r.frame)
    if len(ratios):
        sizing += [("p", "QLoRA against LoRA, measured in this run (the received wisdom: ~30% slower a step, for less "
                         "memory):"),
                   ("table", (["scenario", "s/step LoRA", "s/step QLoRA", "ratio", "time to fit LoRA",
                               "time to fit QLoRA", "ratio", "training peak ratio"],
                              [[x["scenario"], _num(x["lora_s_per_step"]), _num(x["qlora_s_per_step"]),
                                _num(x["step_ratio"]), f"{_num(x['lora_train_s'] / 60, 1)} min",
                                f"{_num(x['qlora_train_s'] / 60, 1)} min", _num(x["time_ratio"]),
                                _num(x["memory_ratio"])] for _, x in ratios.iterrows()]))]
    if r.target is not None:
        sizing += [("p", f"Predicted for {r.target.name} (harness size; GB, allocated):"), ("table", _target_table(r))]
    secs.append(("Hardware sizing", sizing))
    secs.append(("Risks and caveats", [("list", _risks(r))]))
    secs.append(("Methodology", [("list", _methodology(r))]))
    manifest_rows = [["command", " ".join(map(str, m.get("command", [])))], ["git commit", m.get("git_commit")],
                     ["started / finished", f"{m.get('started')} / {m.get('finished')}"],
                     ["model identity", m.get("model", {}).get("identity")],
                     ["device", f"{dev.get('name')} ({dev.get('device')}, {dev.get('dtype')}{answered}), "
                                f"{m.get('cpu_count')} CPUs, {float(m.get('ram_mb') or 0) / 1024:.0f} GiB RAM"],
                     ["seeds", str(m.get("seeds"))], ["faithfulness", str(m.get("faithfulness"))]]
    manifest_rows += [[f"version: {k}", v] for k, v in sorted(m.get("versions", {}).items())]
    manifest_rows += [[f"scenario {k}", ", ".join(f"{Path(f).name} {h[:12]}" for f, h in v.get("files", {}).items())]
                      for k, v in m.get("scenarios", {}).items()]
    secs.append(("Reproducibility manifest", [("table", (["item", "value"], manifest_rows))]))
    return secs


def _comparison_table(rec: Recommendation) -> tuple[list[str], list[list[str]]]:
    """Every allowed strategy against the leader on the decision score: the numbers the verdict rests on."""
    head = [f"vs {rec.leader} on {rec.quantity}", "items", f"{rec.leader}", "other", "other - leader [95% CI]",
            "test", "p", "p (Holm)", "reads", f"non-inferior (margin {rec.margin:g})", "items for 80% power"]
    rows = []
    for c in rec.comparisons:
        reads = f"{c['direction']}, " + ("measured" if c["separated"] else "not told apart")
        ni = "–" if c["non_inferior"] is None else (
            f"{'yes' if c['non_inferior'] else 'no'} (lower bound {c['ni_low']:+.2f})")
        rows.append([c["other"], str(c["n_items"]), _num(c["leader_mean"]), _num(c["other_mean"]),
                     f"{c['diff']:+.2f} [{c['ci_low']:+.2f}, {c['ci_high']:+.2f}]", c["test"], _num(c["p"], 3),
                     _num(c["p_holm"], 3), reads, ni,
                     "–" if c["items_needed"] is None or c["separated"] else str(c["items_needed"])])
    return head, rows


def _answered_in(frame: Any) -> str:
    """", answers in bfloat16": what the cells answered in, which on a bf16 CPU is not the weights' fp32; runs
    from before the answer_precision column say nothing."""
    found = sorted({str(p) for p in frame.get("answer_precision", []) if isinstance(p, str)})
    return f", answers in {' and '.join(found)}" if found else ""


def _sizing(r: Report) -> list[str]:
    out = []
    for name, rec in r.recs.items():
        c = next((c for c in rec.candidates if c["strategy"] == rec.recommended), None)
        if c is None:
            continue
        line = (f"{name} / {rec.recommended}: peak memory {c['peak_gb']:.2f} GB ({c['memory_kind']}), "
                f"training {c['train_hours'] * 60:.1f} min, a request's wait {c['latency_p95']:.2f} s (p95, one at a "
                f"time; {c['seconds_per_answer']:.2f} s per answer in batches) on "
                f"{r.manifest.get('device', {}).get('name')}.")
        if c["memory_kind"] == "cuda":
            line += f" Fits {gpu_for(c['peak_gb'])}."
        else:
            line += (" Measured as CPU resident memory (the whole process: Python, libraries, fp32 weights): an "
                     "upper bound. Re-run with --device cuda to size a GPU from its measured VRAM peak.")
        limited = [x["strategy"] for x in rec.candidates if x["recognises_not_writes"]]
        if limited or rec.nobody_answers:
            longest = max(x["train_hours"] for x in rec.candidates) * 60
            line += (f" These numbers are limited by the measured model ({r.manifest.get('model', {}).get('name')})"
                     + (f": {', '.join(limited)} recognise answers they do not write" if limited else "")
                     + ". Before buying, re-run on the model you will deploy (harness run --model PATH --device "
                       f"cuda): here its longest training took {longest:.1f} min; a larger model's training and "
                       "answering cost scale with its size.")
        out.append(line)
        if r.target is not None:
            out.append(_target_line(r, name, rec.recommended))
    out.append(_seventy_b_line())
    return out


def _target_setting(r: Report, scenario: str, strategy: str) -> Setting:
    """The recommended strategy at this run's batch and rank, sequence 512, as `harness size` takes it; what
    it trains comes from the row's own flags (4-bit base: qlora; fine-tuned: lora; else answering only)."""
    profile = r.manifest.get("profile", {})
    train = dict(profile.get("train_overrides") or []).get(strategy) or profile.get("train", {})  # the strategy's own
    row = r.frame[(r.frame["scenario"] == scenario) & (r.frame["strategy"] == strategy)].iloc[0]
    method = "qlora" if row["four_bit"] else "lora" if row["fine_tuned"] else "rag"
    return Setting(method=method, seq=512, batch=int(train.get("batch_size") or 8), rank=int(train.get("r") or 16))


def _target_line(r: Report, scenario: str, strategy: str) -> str:
    """What the recommended strategy needs on the model the team will deploy, predicted (harness.sizing)."""
    a = r.target
    assert a is not None
    s = _target_setting(r, scenario, strategy)
    need = predict(a, s).gb()
    line = f"To run {strategy} on {a.name} ({a.params() / 1e9:.1f} B parameters): "
    if s.method == "rag":
        line += f"answering at prompt 512 + 96 tokens, batch {s.batch}, needs about {need:.1f} GB ({gpu_for(need)})"
    else:
        ckpt = predict(a, dataclasses.replace(s, checkpointing=True)).gb()
        line += (f"training at sequence 512, batch {s.batch}, rank {s.rank} needs about {need:.1f} GB "
                 f"({gpu_for(need)}), {ckpt:.1f} GB with gradient checkpointing ({gpu_for(ckpt)})")
    return line + " (predicted by harness size, not measured; re-run with --model on that GPU to measure it)."


def _target_table(r: Report) -> tuple[list[str], list[list[str]]]:
    """Per scenario, the recommended strategy's predicted peak on the target model, part by part."""
    a = r.target
    assert a is not None
    head = ["scenario", "strategy", "setting", "weights", "LoRA + optimizer", "activations", "logits / KV cache",
            "total", "fits"]
    rows = []
    for name, rec in r.recs.items():
        s = _target_setting(r, name, rec.recommended)
        for setting in ([s] if s.method == "rag" else [s, dataclasses.replace(s, checkpointing=True)]):
            est = predict(a, setting)
            p = {k: v / 1e9 for k, v in est.parts.items()}
            what = (f"answer, batch {s.batch}" if s.method == "rag" else
                    f"{s.method}, batch {s.batch} x 512" + (", checkpointing" if setting.checkpointing else ""))
            rows.append([name, rec.recommended, what, f"{p['weights']:.1f}", f"{p.get('lora_and_optimizer', 0):.1f}",
                         f"{p['activations']:.1f}", f"{p.get('logits', 0) + p.get('kv_cache', 0):.1f}",
                         f"{est.gb():.1f}", gpu_for(est.gb())])
    return head, rows


def _seventy_b_line() -> str:
    """The received wisdom's claim, checked against the same formula."""
    a = KNOWN["llama-3.1-70b"]
    q = predict(a, Setting(method="qlora", seq=512, batch=1, rank=16, checkpointing=True)).gb()
    full = a.params() * 16 / 1e9  # bf16 weights and gradients, fp32 master weights and two AdamW moments
    return (f"The claim \"a 70B model on 2 GPUs instead of 36\": QLoRA of Llama-3.1-70B (sequence 512, batch 1, "
            f"checkpointing) is predicted at {q:.0f} GB, {gpu_for(q)}, or {math.ceil(q * HEADROOM / 24)} x 24 GB cards "
            f"if sharded; full fine-tuning with AdamW holds about {full:.0f} GB of weights, gradients and optimizer "
            f"state alone, {math.ceil(full / 32)} x 32 GB or {math.ceil(full / 80)} x 80 GB cards before activations.")


def _risks(r: Report) -> list[str]:
    out = []
    for rec in r.recs.values():
        out += [f"{rec.scenario}: {c}" for c in rec.caveats]
        for c in rec.candidates:
            if c["train_hours"] > 0 and not math.isnan(c["accuracy_updated"]) and not c["retrieves"]:
                drop = c["accuracy"] - c["accuracy_updated"]
                if drop > 0.1:
                    out.append(f"{rec.scenario}: {c['strategy']} answers from what it was trained on: after the "
                               f"corpus update its accuracy fell from {c['accuracy']:.2f} to {c['accuracy_updated']:.2f}"
                               " (stale answers until it is retrained).")
    method = r.manifest.get("faithfulness") or "claims-offline"
    if method.startswith("claims-offline"):
        out.append("Faithfulness was scored offline by harness's claim checker (agreement with hand labels: "
                   f"{CALIBRATION.describe()}): a weak proxy, which still supports some claims that swap a relation "
                   "between words the evidence holds. It counts in the decision only on right answers (supported "
                   "accuracy). Use --judge with a strong LLM for a ragas-judged value.")
    else:
        out.append(f"Faithfulness was judged by {method} through ragas; the judge's own errors are not measured here.")
    n = r.frame["n_items"].dropna()
    if len(n):
        out.append(f"Each accuracy rests on {int(n.min())}–{int(n.max())} questions per cell: intervals are wide. "
                   "A difference that is not significant is reported as not told apart, never as a tie; the "
                   "evidence table says how many questions would tell them apart.")
    out.append(f"All figures are for one model ({r.manifest.get('model', {}).get('name')}); a larger model may rank "
               "strategies differently. Re-run harness on the model you will deploy.")
    return out


def _methodology(r: Report) -> list[str]:
    return [
        "Each strategy answered the same held-out questions; a scenario with a corpus update was answered again "
        "with the updated corpus and without retraining.",
        "Accuracy: all required facts (normalised numbers and units), house terms, or JSON fields right. 95% "
        "intervals: Clopper-Pearson for proportions, BCa bootstrap for continuous means. Paired tests between "
        "strategies on the same items: exact McNemar for 0/1 scores, sign-flip permutation otherwise, with "
        "Newcombe's (Clopper-Pearson based) or BCa intervals of the difference; Holm's correction over the "
        "comparisons a verdict rests on.",
        "Faithfulness: share of an answer's claims supported by the evidence the strategy saw (retrieved passages, "
        "or the gold documents for closed-book answers). MC accuracy: lm-evaluation-harness log-likelihood over "
        "the reference and three wrong options.",
        "Peak memory: on a GPU what the card must hold (the allocator's peak reserved plus the CUDA context, the "
        "cache emptied at each phase); on a CPU the peak resident memory of the cell's own process; over training or "
        "answering, whichever is higher. Training time: wall clock of the optimizer steps.",
        "Decision rule: exclude what breaks a constraint (by its measured value); the decision score is accuracy "
        "(blended with the accuracy after the update by how often data changes) plus faithfulness by its weight. "
        "The leader is best only when every paired test against it is significant after Holm's correction; a "
        "cheaper strategy is as good only when its interval's lower bound is above minus the margin "
        f"({r.constraints.margin:g}); otherwise the verdict is inconclusive and says how many questions would decide.",
    ]


# ----------------------------------------------------------------------------- renderers
CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
color:#1a1a1a;line-height:1.45;padding:0 1em}h1{font-size:1.7em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;
margin-top:1.6em}table{border-collapse:collapse;margin:.8em 0;font-size:.88em}td,th{border:1px solid #ccc;
padding:.3em .55em;text-align:left;vertical-align:top}th{background:#f3f5f8}img{max-width:100%}
.meta{color:#555}@page{size:A4;margin:12mm}@media print{body{margin:0;max-width:none}table{font-size:.78em}h2{page-break-after:avoid}table,img{page-break-inside:avoid}}"""


def to_html(r: Report) -> str:
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(r.title)}</title><style>{CSS}</style>"
             f"</head><body><h1>{e(r.title)}</h1>",
             f"<p class='meta'>harness report, generated {dt.date.today().isoformat()} from run folder "
             f"<code>{e(str(r.run))}</code></p>"]
    for heading, blocks in _sections(r):
        parts.append(f"<h2>{e(heading)}</h2>")
        for kind, body in blocks:
            if kind == "p":
                parts.append(f"<p>{e(str(body))}</p>")
            elif kind == "list":
                parts.append("<ul>" + "".join(f"<li>{e(str(x))}</li>" for x in body) + "</ul>")
            elif kind == "table":
                head, rows = body
                parts.append("<table><tr>" + "".join(f"<th>{e(str(h))}</th>" for h in head) + "</tr>"
                             + "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in rows)
                             + "</table>")
            elif kind == "chart":
                data = base64.b64encode(body.png).decode()
                parts.append(f"<figure><img alt='{e(body.title)}' src='data:image/png;base64,{data}'>"
                             f"<figcaption>{e(body.title)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _md_escape(text: str) -> str:
    out = str(text).replace("\\", "\\\\")
    for ch in "|*_`[]<>#":
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", " ")


def to_markdown(r: Report, image_dir: Path, image_prefix: str) -> str:
    lines = [f"# {_md_escape(r.title)}", "",
             f"harness report, generated {dt.date.today().isoformat()} from run folder {_md_escape(str(r.run))}", ""]
    image_dir.mkdir(parents=True, exist_ok=True)
    for heading, blocks in _sections(r):
        lines += [f"## {_md_escape(heading)}", ""]
        for kind, body in blocks:
            if kind == "p":
                lines += [_md_escape(body), ""]
            elif kind == "list":
                lines += [f"- {_md_escape(x)}" for x in body] + [""]
            elif kind == "table":
                head, rows = body
                lines.append("| " + " | ".join(_md_escape(h) for h in head) + " |")
                lines.append("|" + "---|" * len(head))
                lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
                lines.append("")
            elif kind == "chart":
                (image_dir / f"{body.name}.png").write_bytes(body.png)
                lines += [f"![{_md_escape(body.title)}]({image_prefix}/{body.name}.png)", ""]
    return "\n".join(lines)


def html_to_pdf(html_path: Path, pdf_path: Path) -> str:
    """Print the HTML to PDF with headless Chromium, or WeasyPrint; returns which one did it."""
    browser = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if browser:
        with tempfile.TemporaryDirectory(prefix="harness-chromium-") as profile:
            cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                   "--no-pdf-header-footer", f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        if done.returncode == 0 and pdf_path.is_file() and pdf_path.stat().st_size > 0:
            return browser
        raise HarnessError(f"--format pdf: {browser} failed to print {html_path}: {done.stderr.strip()[-300:]}")
    try:
        from weasyprint import HTML
    except ImportError:
        raise HarnessError("--format pdf: needs headless Chromium (apt-get install chromium) or WeasyPrint "
                           "(pip install weasyprint); neither is installed") from None
    HTML(filename=str(html_path)).write_pdf(str(pdf_path))
    return "weasyprint"


def write(run: Path, fmt: str, out: Path | None, constraints: Constraints, target: Arch | None = None) -> Path:
    report = build(run, constraints, target)
    out = out or run / f"report.{fmt}"
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "md":
        images = out.with_name(out.stem + "_files")
        out.write_text(to_markdown(report, images, images.name), encoding="utf-8")
    elif fmt == "html":
        out.write_text(to_html(report), encoding="utf-8")
    elif fmt == "pdf":
        with tempfile.TemporaryDirectory(prefix="harness-report-") as tmp:
            page = Path(tmp) / "report.html"
            page.write_text(to_html(report), encoding="utf-8")
            html_to_pdf(page, out)
    else:
        raise HarnessError(f"--format {fmt}: unknown format (html, md, pdf)")
    return out
