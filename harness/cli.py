"""The `harness` command: parse arguments, call the library, turn known errors into one line + exit 2.

Heavy libraries (torch, transformers) are imported inside the commands that need them, so that
`harness --help` and `harness scenarios validate` start in a fraction of a second.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any
from pathlib import Path

from harness.constraints import CITATIONS, DATA_CHANGES, DEFAULT_WEIGHTS, weights_text
from harness.errors import HarnessError

EXIT_BAD_INPUT = 2  # bad input: one line on stderr, nothing computed
EXIT_CELLS_FAILED = 3  # the run finished and wrote everything, but at least one cell failed


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line and exit code 2, like every other input error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _cmd_scenarios_list(args: argparse.Namespace) -> int:
    from harness.config import builtin_scenario_paths, load_scenario
    from harness.slices import assign, counts

    paths = [Path(p) for p in args.paths] or builtin_scenario_paths()
    rows = []
    for p in paths:
        s = load_scenario(p)
        sizes = "  ".join(f"{name} {v.train}/{v.eval}" for name, v in s.spec.profiles.items())
        update = f" +update {len(s.eval_update)}" if s.eval_update else ""
        slices = "  ".join(
            f"{name} " + "/".join(str(n) for n in counts(assign(s.eval_for(name), s.train_for(name))).values())
            for name in s.spec.profiles)
        rows.append((s.name, s.kind, f"{len(s.corpus)} docs{update}", sizes, slices, str(p)))
    header = ("name", "kind", "corpus", "train/eval per profile", "eval seen/composed/unseen per profile", "file")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    for r in [header] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def _cmd_scenarios_new(args: argparse.Namespace) -> int:
    from harness.config import load_scenario
    from harness.scenario_new import QAColumns, write_scenario

    if args.out.suffix not in (".yaml", ".yml"):
        raise HarnessError(f"--out {args.out}: expected a .yaml file name")
    notes = write_scenario(args.corpus, args.qa, args.out, args.name,
                           QAColumns(args.question_column, args.answer_column, args.doc_column),
                           args.eval_share, args.seed)
    import os

    from harness.config import DATA_DIR_ENV

    before = os.environ.get(DATA_DIR_ENV)
    os.environ[DATA_DIR_ENV] = os.pathsep.join(p for p in (before, str(args.corpus.resolve())) if p)
    try:  # what was written loads (with the corpus allowed, as the note tells the user to allow it)
        sc = load_scenario(args.out)
    finally:
        if before is None:
            del os.environ[DATA_DIR_ENV]
        else:
            os.environ[DATA_DIR_ENV] = before
    print(f"wrote {args.out} ({len(sc.corpus)} documents, {len(sc.train)} train and {len(sc.eval)} eval items)")
    for note in notes:
        print(f"  note: {note}")
    print(f"next: {next_run_command(args.out, args.corpus)}")
    return 0


def next_run_command(scenario: Path, corpus: Path) -> str:
    """The one command that runs the scenario as written: a corpus outside the scenario's folder is allowed
    through HARNESS_DATA_DIR (a scenario file may not reach outside its folder on its own)."""
    import shlex

    from harness.config import DATA_DIR_ENV, allowed_roots

    run = f"harness run --scenario {shlex.quote(str(scenario))}"
    if any(corpus.resolve().is_relative_to(r) for r in allowed_roots(scenario)):
        return run
    return f"{DATA_DIR_ENV}={shlex.quote(str(corpus.resolve()))} {run}"


def _cmd_scenarios_validate(args: argparse.Namespace) -> int:
    from harness.config import load_scenario

    failed = 0
    for p in args.paths:
        try:
            load_scenario(p)
        except HarnessError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
        else:
            print(f"ok {p}")
    return EXIT_BAD_INPUT if failed else 0


def _quiet_libraries() -> None:
    """Keep the run's own progress readable: no per-load bars, no warnings known to be harmless here."""
    import logging
    import warnings

    warnings.filterwarnings("ignore", message=r".*is_gradient_checkpointing.*deprecated")  # peft -> transformers 5
    # bitsandbytes looks for an optional `kernels` package (which would fetch from a hub); its CPU path works without
    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def _parse_seeds(text: str) -> list[int]:
    from harness.preflight import seed

    try:
        seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise HarnessError(f"--seeds {text}: expected comma-separated integers, e.g. 0,1,2") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise HarnessError(f"--seeds {text}: expected distinct comma-separated integers, e.g. 0,1,2")
    return [seed("--seeds", s) for s in seeds]


def _judge_config(args: argparse.Namespace):  # noqa: ANN202 - JudgeConfig | None, imported lazily
    if not args.judge:
        return None
    import os

    from harness.judge import JudgeConfig
    from harness.preflight import judge_answers, judge_url

    url = judge_url(args.judge)
    if not args.judge_model:
        raise HarnessError("--judge needs --judge-model NAME (the model the endpoint serves)")
    key = os.environ.get(args.judge_key_env)
    if not key:
        raise HarnessError(f"--judge-key-env {args.judge_key_env}: the environment variable is not set")
    judge_answers(url, args.judge_model, key)  # one tiny request now, not after the training
    return JudgeConfig(url, args.judge_model, args.judge_key_env)


def _cmd_export_lm_eval(args: argparse.Namespace) -> int:
    from harness.config import load_scenario, resolve_scenario_arg
    from harness.lmeval import mc_records, task_name, write_task
    from harness.preflight import output_folder

    scenario = load_scenario(resolve_scenario_arg(args.scenario))
    args.out = output_folder("--out", args.out)
    scenario.sizes(args.profile)
    written = []
    sets = [("", scenario.eval_for(args.profile))]
    if scenario.eval_update:
        sets.append(("updated", scenario.eval_update_for(args.profile)))
    for variant, items in sets:
        missing = [i.id for i in items if len(i.wrong_options) != 3]
        if missing:
            raise HarnessError(f"{scenario.path}: eval item {missing[0]} has no 3 wrong_options; "
                               "multiple choice needs them")
        name = task_name(scenario.name, variant)
        written.append(write_task(args.out, name, mc_records(items), scenario.spec.description))
    for path in written:
        print(path)
    names = ",".join(p.stem for p in written)
    print(f"run: lm_eval --model hf --model_args pretrained=MODEL --include_path {args.out} --tasks {names} "
          f"--apply_chat_template --system_instruction {_shell_quote(scenario.spec.system_prompt)}")
    return 0


def _shell_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _cmd_recommend(args: argparse.Namespace) -> int:
    import json

    from harness.recommend import recommend, render_text
    from harness.results import read_run

    constraints = _constraints(args)
    frame, samples, _ = read_run(args.run)
    recs = recommend(frame, samples, constraints)
    if args.json:
        print(json.dumps({name: r.as_dict() for name, r in recs.items()}, indent=2, default=str))
    else:
        print(render_text(recs, details=args.details))
    return 0


def _cmd_app(args: argparse.Namespace) -> int:
    import os

    from harness.app import RUN_ENV
    from harness.results import read_run

    read_run(args.run)  # a wrong folder is a one-line error here, not a page in the browser
    main_py = Path(__file__).resolve().parent / "app" / "main.py"
    cmd = [sys.executable, "-m", "streamlit", "run", str(main_py), "--server.address", args.address,
           "--server.port", str(args.port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    print(f"harness app: http://{args.address}:{args.port}  (run folder {args.run}; Ctrl-C stops it)", flush=True)
    os.environ[RUN_ENV] = str(Path(args.run).resolve())
    # the server replaces this process: a supervisor's SIGTERM reaches Streamlit itself, which stops and frees
    # the port (a child started with subprocess.call kept serving after its parent was terminated)
    os.execv(sys.executable, cmd)
    return 0  # not reached


def _port(text: str) -> int:
    from harness.preflight import port

    try:
        return port(text)
    except HarnessError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[1]) from None


def _constraints(args: argparse.Namespace):  # noqa: ANN202 - recommend.Constraints, imported lazily
    from harness.constraints import Constraints
    from harness.preflight import number

    def budget(flag: str, value: str | None) -> float | None:
        return None if value is None else number(flag, value, positive=True)

    return Constraints(memory_gb=budget("--memory-gb", args.memory_gb), gpu_memory=args.gpu_memory,
                       data_changes=args.data_changes, citations=args.citations,
                       train_hours=budget("--train-hours", args.train_hours),
                       latency_s=budget("--latency-s", args.latency_s), margin=_margin(args.margin),
                       min_citation_rate=_share("--min-citation-rate", args.min_citation_rate),
                       **_weights(args.weights))


def _share(flag: str, text: str | None) -> float:
    from harness.constraints import DEFAULT_MIN_CITATION_RATE
    from harness.preflight import number

    if text is None:
        return DEFAULT_MIN_CITATION_RATE
    value = number(flag, text, minimum=0.0)
    if value > 1:
        raise HarnessError(f"{flag} {text}: must be a share between 0 and 1")
    return value


def _margin(text: str | None) -> float:
    from harness.constraints import DEFAULT_MARGIN
    from harness.preflight import number

    if text is None:
        return DEFAULT_MARGIN
    value = number("--margin", text, minimum=0.0)
    if value >= 1:
        raise HarnessError(f"--margin {text}: must be below 1 (points of the decision score, e.g. 0.05)")
    return value


def _cmd_report(args: argparse.Namespace) -> int:
    from harness.preflight import output_file
    from harness.report import write

    constraints = _constraints(args)
    out = output_file("--out", args.out)
    target = None
    if args.target_model:
        from harness.sizing import arch_from

        target = arch_from(args.target_model)
    _quiet_libraries()  # a missing run folder is read_run's one-line error, raised inside write()
    out = write(args.run, args.format, out, constraints, target)
    print(out)
    return 0


def _cmd_size(args: argparse.Namespace) -> int:
    from harness.sizing import Setting, arch_from, table, train_seconds

    for flag in ("seq", "batch", "rank", "new_tokens", "train_tokens"):
        if getattr(args, flag) < 1:
            raise HarnessError(f"--{flag.replace('_', '-')} {getattr(args, flag)}: must be at least 1")
    arch = arch_from(args.target_model)
    s = Setting(method=args.method, seq=args.seq, batch=args.batch, rank=args.rank, checkpointing=args.checkpointing,
                new_tokens=args.new_tokens)
    print(table(arch, s))
    if args.from_run is not None and args.method != "rag":
        from harness.results import read_run

        frame, _, manifest = read_run(args.from_run)
        rows = frame[(frame["status"] == "ok") & (frame["strategy"] == args.method) & frame["train_tokens_per_s"].notna()]
        if rows.empty:
            raise HarnessError(f"--from-run {args.from_run}: no finished {args.method} cell with a measured throughput")
        tps = float(rows["train_tokens_per_s"].median())
        n = int(rows["total_params"].median())
        secs = train_seconds(arch, s, args.train_tokens, tps, n)
        print(f"  training {args.train_tokens:,} tokens: about {secs / 3600:.1f} h on "
              f"{manifest.get('device', {}).get('name')} (scaled by compute from {tps:.0f} tokens/s measured on "
              f"{n / 1e6:.0f} M parameters)")
    return 0


def _add_constraint_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--memory-gb", default=None, help="memory budget in GB (peak, measured)")
    p.add_argument("--gpu-memory", action="store_true", help="the budget is GPU VRAM (compared with CUDA peaks only)")
    p.add_argument("--data-changes", default="never", choices=DATA_CHANGES,
                   help="how often the knowledge changes (weighs the measured accuracy after a corpus update)")
    p.add_argument("--citations", default="optional", choices=CITATIONS,
                   help="required: only strategies whose answers cite the sources they were shown, measured")
    p.add_argument("--min-citation-rate", default=None, metavar="0.8",
                   help="with --citations required: the share of answers that must cite a source (default 0.8)")
    p.add_argument("--train-hours", default=None, help="training time budget in hours")
    p.add_argument("--latency-s", default=None,
                   help="a request's wait budget in seconds (compared with the p95 of questions asked one at a time)")
    p.add_argument("--weights", default=None, metavar=weights_text(),
                   help="how much each counts in the decision score (defaults shown)")
    p.add_argument("--margin", default=None, metavar="0.05",
                   help="how much decision score (accuracy points) you would give up for a cheaper strategy: it is "
                        "recommended only when shown non-inferior within this margin")


def _weights(text: str | None) -> dict[str, float]:
    """--weights accuracy=1,faithfulness=0.25 -> Constraints fields."""
    if not text:
        return {}
    from harness.preflight import number

    names = {name: f"w_{name}" for name in DEFAULT_WEIGHTS}
    out = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        if key.strip() == "cost":
            raise HarnessError(f"--weights {text}: cost is no longer a weight: it only chooses among strategies "
                               "shown as good as the leader (set how much you would give up with --margin)")
        if key.strip() not in names:
            raise HarnessError(f"--weights {text}: unknown weight '{key.strip()}' (known: {', '.join(names)})")
        out[names[key.strip()]] = number("--weights", value.strip(), minimum=0.0, shown=part.strip())
    return out


def _cmd_run(args: argparse.Namespace) -> int:
    import datetime as dt
    from dataclasses import replace

    from harness.config import builtin_scenario_paths, load_scenario, resolve_scenario_arg
    from harness.preflight import number, output_folder, seed
    from harness.profiles import get_profile

    out = output_folder("--out", args.out)
    paths = [resolve_scenario_arg(s) for s in args.scenario] if args.scenario else builtin_scenario_paths()
    scenarios = [load_scenario(p) for p in paths]
    profile = get_profile(args.profile)
    if args.gradient_checkpointing:
        profile = profile.with_train(gradient_checkpointing=args.gradient_checkpointing)
    if args.answer_precision:
        profile = replace(profile, answer_precision=args.answer_precision)
    if args.train_stop:
        profile = profile.with_train(stop=args.train_stop)
    for s in scenarios:
        s.sizes(args.profile)  # an unknown profile is an input error before any work starts
    from harness.models import load_tokenizer, resolve_model
    from harness.run import RunOptions, check_out, check_strategies, make_executor, run_matrix
    from harness.views import summary_table

    check_strategies(args.strategy or [])  # input errors before any model is touched
    seeds = _parse_seeds(args.seeds) if args.seeds is not None else [seed("--seed", args.seed)]
    judge = _judge_config(args)
    _quiet_libraries()
    executor = make_executor(args.executor, args.ray_address, number("--cpus-per-cell", args.cpus_per_cell, positive=True))
    device = executor.device(args.device)
    model = resolve_model(args.model, trust_remote_code=args.trust_remote_code)
    load_tokenizer(model)  # present, loadable, with a chat template: before any cell
    from harness.recipes import fit_to_model, model_params

    profile = fit_to_model(profile, model_params(model.path))  # learning rates for the model's size
    out = out or Path("runs") / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    opts = RunOptions(scenarios=scenarios, strategies=args.strategy, profile=profile, model=model, device=device,
                      seeds=seeds, out=out, argv=sys.argv, progress=not args.quiet, judge=judge,
                      executor=args.executor, ray_address=args.ray_address,
                      isolate={"auto": None, "fresh": True, "shared": False}[args.cell_process])
    check_out(opts)  # not another run's folder: before any work
    print(f"harness run: {len(scenarios)} scenario(s), profile {args.profile}, model {model.name}, "
          f"device {device.device} ({device.name}, {device.dtype}), executor {executor.name} -> {out}", flush=True)
    print(_plan_line(opts, model), flush=True)
    frame = run_matrix(opts, executor)
    print(summary_table(frame))
    print(f"results: {out}")
    failed = frame[frame["status"] == "failed"]
    if len(failed):
        print(f"error: {len(failed)} of {len(frame)} cells failed (their rows say why); the next run retries them",
              file=sys.stderr)
        return EXIT_CELLS_FAILED
    return 0


def _plan_line(opts: Any, model: Any) -> str:
    """What the run will do and about how long it takes (harness.run.estimate), before the first cell."""
    from harness.recipes import model_params
    from harness.run.cache import load_cached
    from harness.run.estimate import describe, estimate
    from harness.run.matrix import plan

    cells = plan(opts)
    cached = {c.key for c in cells if load_cached(c.key) is not None}
    return describe(estimate(opts, cells, cached, model_params(model.path)))


def build_parser() -> argparse.ArgumentParser:
    from harness.models import ANSWER_PRECISIONS
    from harness.run.options import EXECUTORS as executors

    parser = _Parser(
        prog="harness",
        description="Measure RAG, LoRA, QLoRA and hybrids on your own scenarios, and recommend one.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sc = sub.add_parser("scenarios", help="list, validate or write scenario files")
    sc_sub = sc.add_subparsers(dest="scenarios_command", required=True, metavar="ACTION")
    ls = sc_sub.add_parser("list", help="name, kind and sizes of the built-in scenarios (or of PATHs)")
    ls.add_argument("paths", nargs="*", help="scenario YAML files (default: the built-in ones)")
    ls.set_defaults(func=_cmd_scenarios_list)
    va = sc_sub.add_parser("validate", help="check scenario files and their data; 'ok' per file or one error line")
    va.add_argument("paths", nargs="+", help="scenario YAML files")
    va.set_defaults(func=_cmd_scenarios_validate)
    nw = sc_sub.add_parser("new", help="write a scenario from a folder of documents and a CSV/JSONL of Q/A pairs")
    nw.add_argument("--corpus", required=True, type=Path, help="folder of PDF, DOCX, PPTX, HTML, Markdown, text")
    nw.add_argument("--qa", required=True, type=Path, help="CSV or JSONL file of question/answer pairs")
    nw.add_argument("--out", required=True, type=Path, help="the scenario YAML to write (its data beside it)")
    nw.add_argument("--name", default=None, help="scenario name (default: the YAML's file name)")
    nw.add_argument("--question-column", default="question")
    nw.add_argument("--answer-column", default="answer")
    nw.add_argument("--doc-column", default=None, help="column naming the documents that hold the answer "
                                                       "(paths relative to --corpus, ';'-separated)")
    nw.add_argument("--eval-share", type=float, default=0.5, help="share of pairs held out for evaluation")
    nw.add_argument("--seed", type=int, default=0, help="seed of the train/eval split")
    nw.set_defaults(func=_cmd_scenarios_new)

    run = sub.add_parser("run", help="run the scenario x strategy matrix on one model")
    run.add_argument("--scenario", action="append", metavar="NAME|PATH",
                     help="a built-in scenario name or a YAML path; repeat for several (default: all built-in)")
    run.add_argument("--strategy", action="append", metavar="NAME",
                     help="strategy to run; repeat for several (default: the profile's matrix)")
    run.add_argument("--model", default="embedded",
                     help="'embedded' (SmolLM2-135M-Instruct, offline), a local HF folder, or a hub id")
    run.add_argument("--profile", default="quick", help="smoke | quick | full (sizes come from the scenario)")
    run.add_argument("--out", default=None, help="run folder (default: runs/<timestamp>)")
    run.add_argument("--seed", type=int, default=0, help="seed for training (one seed)")
    run.add_argument("--seeds", default=None, metavar="0,1,2",
                     help="repeat training cells under each seed and report mean and spread")
    run.add_argument("--judge", default=None, metavar="URL",
                     help="faithfulness by ragas with this OpenAI-compatible judge (default: the offline claim scorer)")
    run.add_argument("--judge-model", default=None, metavar="NAME", help="the judge's model name")
    run.add_argument("--judge-key-env", default="OPENAI_API_KEY", metavar="VAR",
                     help="environment variable holding the judge's API key (default OPENAI_API_KEY)")
    run.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                     help="auto picks CUDA with bf16 when available, else the CPU")
    run.add_argument("--gradient-checkpointing", default=None, choices=("auto", "on", "off"),
                     help="recompute activations in backward to save memory (default auto: on CUDA, on when "
                          "harness size predicts the training step does not fit the card)")
    run.add_argument("--train-stop", default=None, choices=("fit", "budget"),
                     help="fit (the profiles' default): train each adapter until it fits its training split, the "
                          "profile's epochs being the cap; budget: every planned step")
    run.add_argument("--answer-precision", default=None, choices=ANSWER_PRECISIONS,
                     help="the dtype answers and multiple choice are computed in (default auto: bf16 autocast on a "
                          "CPU with native bf16, the weights' own dtype on a GPU, else fp32)")
    run.add_argument("--trust-remote-code", action="store_true",
                     help="allow a local or hub model to run its own Python code (off by default)")
    run.add_argument("--cell-process", default="auto", choices=("auto", "fresh", "shared"),
                     help="fresh: each cell in a process of its own, so its memory peak is its own (auto: on a CPU); "
                          "shared: every cell in this process, the model loaded once (auto: on CUDA)")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.add_argument("--executor", default="local", choices=executors,
                     help="local: cells one after another here; ray: each cell a task on a Ray cluster")
    run.add_argument("--ray-address", default=None, metavar="ADDR",
                     help="the Ray cluster (auto, or HEAD:6379; default: HARNESS_RAY_ADDRESS, RAY_ADDRESS, else a "
                          "local instance)")
    run.add_argument("--cpus-per-cell", default="1", metavar="N",
                     help="ray on the CPU: CPUs each cell asks for (its torch threads); on CUDA a cell asks one GPU")
    run.set_defaults(func=_cmd_run)

    rc = sub.add_parser("recommend", help="recommend a strategy per scenario from a run folder and your constraints")
    rc.add_argument("--run", required=True, type=Path, help="a run folder written by harness run")
    _add_constraint_args(rc)
    rc.add_argument("--json", action="store_true", help="machine-readable output keyed by scenario")
    rc.add_argument("--details", action="store_true",
                    help="the evidence behind each verdict: every comparison, exclusion, slice, flip and caveat")
    rc.set_defaults(func=_cmd_recommend)

    rp = sub.add_parser("report", help="write the decision report (html, md or pdf) from a run folder")
    rp.add_argument("--run", required=True, type=Path, help="a run folder written by harness run")
    rp.add_argument("--format", default="html", choices=("html", "md", "pdf"))
    rp.add_argument("--out", default=None, help="output file (default: RUN/report.FORMAT)")
    rp.add_argument("--target-model", default=None, metavar="NAME|CONFIG",
                    help="size the recommendation for the model you will deploy (see harness size)")
    _add_constraint_args(rp)
    rp.set_defaults(func=_cmd_report)

    sz = sub.add_parser("size", help="predicted peak GPU memory (and time) of a strategy on a target model")
    sz.add_argument("--target-model", "--model", dest="target_model", required=True, metavar="NAME|CONFIG",
                    help="a known name (phi-3-mini, phi-3-small, phi-3-medium, llama-3.1-8b, llama-3.1-70b, ...) "
                         "or a local HF config.json / model folder")
    sz.add_argument("--method", default="lora", choices=("lora", "qlora", "rag"))
    sz.add_argument("--seq", type=int, default=512, help="tokens per training example, or prompt tokens for rag")
    sz.add_argument("--batch", type=int, default=4)
    sz.add_argument("--rank", type=int, default=16)
    sz.add_argument("--checkpointing", action="store_true", help="with gradient checkpointing")
    sz.add_argument("--new-tokens", type=int, default=96, help="rag: answer tokens")
    sz.add_argument("--from-run", type=Path, default=None,
                    help="scale training time from this run's measured LoRA throughput (same device assumed)")
    sz.add_argument("--train-tokens", type=int, default=1_000_000, help="tokens to train on, for the time estimate")
    sz.set_defaults(func=_cmd_size)

    ap = sub.add_parser("app", help="browse a run folder in the Streamlit app")
    ap.add_argument("--run", required=True, type=Path, help="a run folder written by harness run")
    ap.add_argument("--port", type=_port, default=8501)
    ap.add_argument("--address", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    ap.set_defaults(func=_cmd_app)

    ex = sub.add_parser("export-lm-eval", help="write a scenario's eval set as an lm-evaluation-harness task")
    ex.add_argument("--scenario", required=True, metavar="NAME|PATH", help="a built-in scenario name or a YAML path")
    ex.add_argument("--out", required=True, help="folder for the task YAML and JSONL")
    ex.add_argument("--profile", default="full", help="which slice of the eval set (default: full = all items)")
    ex.set_defaults(func=_cmd_export_lm_eval)
    return parser


def _stop_on_sigterm() -> None:
    """SIGTERM (a scheduler, `timeout`, systemd or a container stopping harness) stops it as Ctrl-C does: by
    KeyboardInterrupt, so a run kills the cell it is computing and exits with the finished cells kept. By
    default SIGTERM ends the interpreter at once and leaves its cell processes running, reparented to init."""
    import signal
    import threading

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _stop_on_sigterm()
    try:
        return int(args.func(args) or 0)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def entrypoint() -> None:
    sys.exit(main())
