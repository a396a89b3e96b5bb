"""Bad input and damaged state, class by class (issue 13): one exact line, exit code 2, nothing computed;
a damaged cache entry is set aside and recomputed; untrusted text never becomes markup."""

from __future__ import annotations

import json
import re
import shutil
import socket
from pathlib import Path

import pandas as pd
import pytest
import yaml

from harness.cli import main
from harness.config import load_scenario
from harness.run import run_matrix
from test_config import GOOD_DOC, write_scenario
from test_matrix import fail_strategy, options


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def cells_written(cache: Path) -> list[Path]:
    return sorted((cache / "cells").glob("*.json")) if (cache / "cells").is_dir() else []


# ----------------------------------------------------------------------------- 1: a cache that heals
@pytest.fixture(scope="module")
def cached_pair(tiny_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A cache holding a finished baseline and rag cell (tiny model, smoke), and strategy -> cell key."""
    import os

    cache = tmp_path_factory.mktemp("cache-pair")
    old = os.environ.get("HARNESS_CACHE_DIR")
    os.environ["HARNESS_CACHE_DIR"] = str(cache)
    try:
        frame = run_matrix(options(tiny_llama, tmp_path_factory.mktemp("pair") / "run", ["baseline", "rag"]))
    finally:
        os.environ["HARNESS_CACHE_DIR"] = old or ""
    return cache, dict(zip(frame["strategy"], frame["cell_key"]))


DAMAGES = {
    "not UTF-8": (lambda p: p.write_bytes(b"\xff\xfe{\x00"), "not UTF-8 text"),
    "a list": (lambda p: p.write_text("[1, 2]"), "expected a JSON object, got list"),
    "row null": (lambda p: p.write_text('{"row": null, "samples": []}'), "row: Input should be a valid dictionary"),
    "a folder": (lambda p: (p.unlink(), p.mkdir()), "not a file"),
    "hollow": (lambda p: p.write_text('{"row": {"status": "ok"}, "samples": []}'), "row.scenario: required field"),
    "truncated": (lambda p: p.write_text(p.read_text()[:200]), "not valid JSON"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_cache_entry_is_set_aside_and_recomputed(damage: str, cached_pair: tuple[Path, dict[str, str]],
                                                           tiny_llama: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(cached_pair[0], cache)
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(cache))
    keys = cached_pair[1]
    entry = cache / "cells" / f"{keys['baseline']}.json"
    rag_before = (cache / "cells" / f"{keys['rag']}.json").read_text()
    make, why = DAMAGES[damage]
    make(entry)
    capsys.readouterr()
    frame = run_matrix(options(tiny_llama, tmp_path / "run", ["baseline", "rag"]))
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert list(frame["status"]) == ["ok", "ok"]
    assert len(err) == 1 and err[0].startswith(f"warning: cache entry {entry} is damaged (") and why in err[0], err
    assert err[0].endswith(", recomputing the cell")
    kept = list((cache / "cells").glob(f"{keys['baseline']}.json.damaged-*"))
    assert len(kept) == 1  # kept for inspection
    assert json.loads(entry.read_text())["row"]["status"] == "ok"  # recomputed and cached again
    assert (cache / "cells" / f"{keys['rag']}.json").read_text() == rag_before  # served from the cache


# ----------------------------------------------------------------------------- 2: output paths, before the work
def test_run_out_that_is_a_file_empty_or_unwritable_fails_before_any_cell(tiny_llama: Path, tmp_path: Path,
                                                                           fresh_cache: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "results.txt"
    a_file.write_text("x")
    base = ["run", "--model", str(tiny_llama), "--profile", "smoke", "--scenario", "multi_fact_qa", "--quiet",
            "--strategy", "baseline"]
    cases = [(str(a_file), f"error: --out {a_file}: is a file, not a folder"),
             ("", "error: --out: empty path; name a folder"),
             (str(a_file / "run"), f"error: --out {a_file / 'run'}: cannot write there (Not a directory)")]
    for out, line in cases:
        assert run_cli([*base, "--out", out], capsys) == (2, "", line + "\n")
    assert cells_written(fresh_cache) == []


def test_run_into_another_runs_folder_is_refused(tiny_llama: Path, tmp_path: Path, fresh_cache: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    base = ["run", "--model", str(tiny_llama), "--profile", "smoke", "--quiet", "--out", str(out)]
    assert run_cli([*base, "--scenario", "multi_fact_qa", "--strategy", "baseline"], capsys)[0] == 0
    n = len(cells_written(fresh_cache))
    code, _, err = run_cli([*base, "--scenario", "business_flow", "--strategy", "baseline"], capsys)
    assert code == 2 and err == (f"error: --out {out}: holds another run whose cell multi_fact_qa/baseline (seed 0) "
                                 "this run does not have (and 0 more); its rows would be replaced: name a new folder\n")
    assert len(cells_written(fresh_cache)) == n  # nothing computed
    # the same command again resumes, and one that adds cells extends the folder
    assert run_cli([*base, "--scenario", "multi_fact_qa", "--strategy", "baseline", "--strategy", "rag"], capsys)[0] == 0
    assert sorted(pd.read_parquet(out / "results.parquet")["strategy"]) == ["baseline", "rag"]
    stray = tmp_path / "notes"
    stray.mkdir()
    (stray / "todo.txt").write_text("mine")
    code, _, err = run_cli([*base[:-1], str(stray), "--scenario", "multi_fact_qa", "--strategy", "baseline"], capsys)
    assert code == 2 and err == f"error: --out {stray}: the folder is not empty and holds no harness run; name a new folder\n"


def test_report_and_export_out_paths(smoke_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    code, _, err = run_cli(["report", "--run", str(smoke_run), "--format", "md", "--out", str(folder)], capsys)
    assert (code, err) == (2, f"error: --out {folder}: is a folder; name the file to write\n")
    a_file = tmp_path / "task.yaml"
    a_file.write_text("")
    code, _, err = run_cli(["export-lm-eval", "--scenario", "multi_fact_qa", "--out", str(a_file)], capsys)
    assert (code, err) == (2, f"error: --out {a_file}: is a file, not a folder\n")
    code, _, err = run_cli(["report", "--run", str(smoke_run), "--out", ""], capsys)
    assert (code, err) == (2, "error: --out: empty path; name a file\n")


# ----------------------------------------------------------------------------- 3: model, judge and numbers
def _broken_model(tiny_llama: Path, tmp_path: Path, how: str) -> Path:
    folder = tmp_path / how
    shutil.copytree(tiny_llama, folder)
    if how == "bad-config":
        (folder / "config.json").write_text("{not json")
    elif how == "no-weights":
        for p in folder.glob("*.safetensors"):
            p.unlink()
    elif how == "no-model-type":
        (folder / "config.json").write_text('{"hidden_size": 64}')
    return folder


@pytest.mark.parametrize(("how", "why"), [
    ("bad-config", "config.json is not valid JSON (Expecting property name enclosed in double quotes)"),
    ("no-weights", "no weights in the folder (expected *.safetensors or pytorch_model*.bin)"),
    ("no-model-type", "config.json has no model_type (not a transformers model config)"),
])
def test_a_broken_model_folder_fails_in_preflight(how: str, why: str, tiny_llama: Path, tmp_path: Path,
                                                  fresh_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _broken_model(tiny_llama, tmp_path, how)
    code, _, err = run_cli(["run", "--model", str(folder), "--profile", "smoke", "--scenario", "multi_fact_qa",
                            "--out", str(tmp_path / "run")], capsys)
    assert (code, err) == (2, f"error: --model {folder}: {why}\n")
    assert cells_written(fresh_cache) == [] and not (tmp_path / "run").exists()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_a_judge_that_is_malformed_or_not_there_fails_in_preflight(tiny_llama: Path, tmp_path: Path,
                                                                    fresh_cache: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("JUDGE_KEY", "k")
    base = ["run", "--model", str(tiny_llama), "--profile", "smoke", "--scenario", "multi_fact_qa",
            "--judge-model", "j", "--judge-key-env", "JUDGE_KEY", "--out", str(tmp_path / "run")]
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    code, _, err = run_cli([*base, "--judge", url], capsys)
    assert code == 2 and err.startswith(f"error: --judge {url}: no answer from the endpoint (") and err.count("\n") == 1
    for bad in ("http://", "ftp://host/v1", "http://host:99999/v1"):
        code, _, err = run_cli([*base, "--judge", bad], capsys)
        assert code == 2 and err.startswith(f"error: --judge {bad}: ") and err.count("\n") == 1, err
    assert cells_written(fresh_cache) == [] and not (tmp_path / "run").exists()


@pytest.mark.parametrize(("args", "line"), [
    (["run", "--seed", str(2**70)], f"error: --seed {2**70}: expected a seed from 0 to 4294967295"),
    (["run", "--seeds", "0,-1"], "error: --seeds -1: expected a seed from 0 to 4294967295"),
    (["recommend", "--run", "R", "--weights", "accuracy=nan"], "error: --weights accuracy=nan: expected a finite number"),
    (["recommend", "--run", "R", "--memory-gb", "-1"], "error: --memory-gb -1: expected a number above 0"),
    (["recommend", "--run", "R", "--latency-s", "nan"], "error: --latency-s nan: expected a finite number"),
    (["recommend", "--run", "R", "--train-hours", "inf"], "error: --train-hours inf: expected a finite number"),
    (["app", "--run", "R", "--port", "70000"],
     "error: harness app: argument --port: expected a port from 1 to 65535 (see harness app --help)"),
    (["run", "--seed", "x"], "error: harness run: argument --seed: invalid int value: 'x' (see harness run --help)"),
])
def test_numbers_out_of_range_are_one_line(args: list[str], line: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:  # argparse's own errors exit from inside parse_args
        raise SystemExit(main(args))
    assert exc.value.code == 2 and capsys.readouterr().err == line + "\n"


def test_a_run_with_a_failed_cell_exits_3_after_writing_everything(tiny_llama: Path, tmp_path: Path,
                                                                    fresh_cache: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    fail_strategy(monkeypatch, "rag", RuntimeError("simulated"))
    code, _, err = run_cli(["run", "--model", str(tiny_llama), "--profile", "smoke", "--scenario", "multi_fact_qa",
                            "--quiet", "--strategy", "baseline", "--strategy", "rag", "--out", str(tmp_path / "r"),
                            "--cell-process", "shared"],  # the simulated failure is patched into this process
                           capsys)
    assert code == 3
    assert err.strip().splitlines()[-1] == ("error: 1 of 2 cells failed (their rows say why); the next run "
                                            "retries them")
    df = pd.read_parquet(tmp_path / "r" / "results.parquet").set_index("strategy")
    assert df.loc["baseline", "status"] == "ok" and df.loc["rag", "error"] == "RuntimeError: simulated"


# ----------------------------------------------------------------------------- 4: the run-folder reader
def _damaged_run(smoke_run: Path, tmp_path: Path, how: str) -> Path:
    run = tmp_path / how
    shutil.copytree(smoke_run, run)
    if how == "truncated-results":
        data = (run / "results.parquet").read_bytes()
        (run / "results.parquet").write_bytes(data[: len(data) // 2])
    elif how == "columnless-results":
        pd.DataFrame({"x": [1]}).to_parquet(run / "results.parquet")
    elif how == "bad-sample-line":
        with (run / "samples.jsonl").open("a") as f:
            f.write('{"scenario": "multi_fact_qa"}\n')
    elif how == "garbage-manifest":
        (run / "manifest.json").write_text("\x00garbage")
    elif how == "old-manifest":
        m = json.loads((run / "manifest.json").read_text())
        del m["format"]
        (run / "manifest.json").write_text(json.dumps(m))
    elif how == "garbage-comparisons":
        (run / "comparisons.parquet").write_text("not parquet")
    return run


@pytest.mark.parametrize(("how", "line"), [
    ("truncated-results", "{run}: results.parquet: unreadable (ArrowInvalid: "),
    ("columnless-results", "{run}: results.parquet: missing columns scenario, strategy, model, seed, profile and "),
    ("bad-sample-line", "{run}: samples.jsonl:{n}: strategy: required field is missing; seed: required field is missing"),
    ("garbage-manifest", "{run}: manifest.json: not valid JSON (JSONDecodeError)"),
    ("old-manifest", "{run}: manifest.json: no format version (written before harness tracked one); this harness "
                     "reads format 2. Re-run the same `harness run` command to rewrite the folder"),
])
def test_a_damaged_run_folder_is_one_line_for_recommend_report_and_app(how: str, line: str, smoke_run: Path,
                                                                       tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    run = _damaged_run(smoke_run, tmp_path, how)
    n = len((smoke_run / "samples.jsonl").read_text().splitlines()) + 1
    expected = "error: --run " + line.format(run=run, n=n)
    for args in (["recommend", "--run", str(run)], ["report", "--run", str(run), "--format", "html"],
                 ["app", "--run", str(run), "--port", "8599"]):
        code, _, err = run_cli(args, capsys)
        assert code == 2 and err.startswith(expected) and err.count("\n") == 1, (args, err)


def test_damaged_comparisons_are_one_line_for_the_report(smoke_run: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    run = _damaged_run(smoke_run, tmp_path, "garbage-comparisons")
    code, _, err = run_cli(["report", "--run", str(run), "--format", "html"], capsys)
    assert code == 2 and err.startswith(f"error: --run {run}: comparisons.parquet: unreadable (") and err.count("\n") == 1


# ----------------------------------------------------------------------------- 5: scenario loading gaps
def _validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code, _, err = run_cli(["scenarios", "validate", str(path)], capsys)
    return code, err


def test_include_obeys_the_path_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_scenario(tmp_path / "proj")
    spec = path.read_text()
    for inc in ("/etc/passwd", "../../outside.yaml"):
        path.write_text(f"include: {inc}\n" + spec)
        assert _validate(path, capsys) == (2, f"error: {path}: include: path '{inc}' leaves the scenario's folder "
                                              f"(allowed: {tmp_path / 'proj'}; set HARNESS_DATA_DIR to allow another)\n")


def test_yaml_that_is_not_text_a_folder_or_has_duplicate_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    assert _validate(latin, capsys) == (2, f"error: {latin}: not UTF-8 text (invalid continuation byte at byte 9)\n")
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    assert _validate(folder, capsys) == (2, f"error: {folder}: is a folder, not a scenario YAML file\n")
    path = write_scenario(tmp_path / "p")
    path.write_text(path.read_text() + "name: again\n")
    code, err = _validate(path, capsys)
    assert code == 2 and err.startswith(f"error: {path}:") and "invalid YAML: duplicate key 'name'" in err


def test_profile_sizes_are_whole_numbers_not_booleans(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for value in (True, "8", 1.5):
        path = write_scenario(tmp_path / str(value), overrides={"profiles": {"smoke": {"train": value, "eval": 1}}})
        code, err = _validate(path, capsys)
        assert code == 2 and err == f"error: {path}: profiles.smoke.train: Input should be a valid integer\n", err


def test_a_jsonl_line_may_hold_a_unicode_line_separator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_scenario(tmp_path)
    doc = {**GOOD_DOC, "text": "Part KP-1 is sourced\u2028from Acme."}
    (tmp_path / "data" / "corpus.jsonl").write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
    assert _validate(path, capsys) == (0, "")
    assert load_scenario(path).corpus[0].text == doc["text"]


# ----------------------------------------------------------------------------- 6: the README's own train format
def _plain_scenario(folder: Path, scorer: str, kind: str = "custom") -> Path:
    """Train items as the README gives them: id, instruction, response (and source ids), nothing more."""
    data = folder / "data"
    data.mkdir(parents=True)
    docs = [{"id": f"D{i}", "title": f"Part KP-{i}", "text": f"Part KP-{i} is made by Supplier{i} in {i + 2} days."}
            for i in range(1, 5)]
    (data / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    if scorer == "business_flow":
        train = [{"id": f"t{i}", "instruction": f"Ticket {i}: a pump leaks.",
                  "response": json.dumps({"category": "repair", "priority": "high"})} for i in range(1, 5)]
        evals = [{"id": f"e{i}", "question": f"Ticket {i}: a valve leaks.", "reference": "repair",
                  "gold_doc_ids": [f"D{i}"], "expected_fields": {"category": "repair"}} for i in range(1, 5)]
    else:
        train = [{"id": f"t{i}", "instruction": f"Who makes KP-{i}?", "response": f"Supplier{i} makes KP-{i}.",
                  "source_doc_ids": [f"D{i}"]} for i in range(1, 5)]
        evals = [{"id": f"e{i}", "question": f"Who makes part KP-{i}?", "reference": f"Supplier{i}",
                  "gold_doc_ids": [f"D{i}"], "required_facts": [f"Supplier{i}"]} for i in range(1, 5)]
    (data / "train.jsonl").write_text("".join(json.dumps(t) + "\n" for t in train))
    (data / "eval.jsonl").write_text("".join(json.dumps(e) + "\n" for e in evals))
    spec = {"name": f"plain_{scorer}", "description": "README-format training items", "kind": kind,
            "corpus": "data/corpus.jsonl", "train": "data/train.jsonl", "eval": "data/eval.jsonl", "scorer": scorer,
            "profiles": {"smoke": {"train": 4, "eval": 4}}}
    path = folder / "plain.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.slow
def test_train_items_with_only_instruction_and_response_run_every_strategy(tiny_llama: Path, tmp_path: Path,
                                                                           fresh_cache: Path) -> None:
    from test_matrix import ALL

    facts = _plain_scenario(tmp_path / "facts", "facts")
    flow = _plain_scenario(tmp_path / "flow", "business_flow")
    opts = options(tiny_llama, tmp_path / "run", ALL)
    opts.scenarios = [load_scenario(facts), load_scenario(flow)]
    frame = run_matrix(opts)
    assert (frame["status"] == "ok").all(), frame[["scenario", "strategy", "status", "error"]].to_string()
    trained = frame[frame["fine_tuned"]]
    assert len(trained) == 8 and trained["n_items_train"].eq(4).all()
    assert trained["train_accuracy"].between(0, 1).all()  # derived from the responses, not a division by zero


def test_a_business_flow_train_item_must_carry_its_action(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _plain_scenario(tmp_path, "business_flow")
    (tmp_path / "data" / "train.jsonl").write_text(json.dumps({"id": "t1", "instruction": "i", "response": "repair"}) + "\n")
    spec = yaml.safe_load(path.read_text())
    spec["profiles"] = {"smoke": {"train": 1, "eval": 1}}
    path.write_text(yaml.safe_dump(spec))
    assert _validate(path, capsys) == (2, f"error: {path}: train (data/train.jsonl): item 1 ('t1'): response: scorer "
                                          "'business_flow' needs the expected action as a JSON object in the response "
                                          "(or expected_fields)\n")


def test_scorers_never_divide_by_an_empty_list() -> None:
    import math

    from harness.data import EvalItem
    from harness.scorers import SCORERS

    bare = EvalItem(id="x", question="q", reference="r", gold_doc_ids=["d"])
    for name in ("facts", "vocabulary", "business_flow"):
        out = SCORERS.get(name)('{"a": 1} r', bare)
        assert math.isnan(out["accuracy"]), name


# ----------------------------------------------------------------------------- 7: untrusted text
EVIL = "![pixel](http://127.0.0.1:9/track.png) <img src=x onerror=alert(1)> **loud**"


def test_the_app_shows_answers_sources_and_names_as_text(smoke_run: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    run = tmp_path / "run"
    shutil.copytree(smoke_run, run)
    samples = [json.loads(x) for x in (run / "samples.jsonl").read_text().splitlines()]
    for s in samples:
        s["answer"] = EVIL
        s["question"] = "Q " + EVIL
        s["retrieved_texts"] = [EVIL for _ in s.get("retrieved_texts", [])]
    (run / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
    monkeypatch.setenv("HARNESS_APP_RUN", str(run))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "harness" / "app" / "main.py"),
                           default_timeout=120)
    at.run()
    for page in ("drill_down", "overview", "run_info", "constraints"):
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, page
        shown = [m.value for m in at.markdown] + [c.value for c in at.caption] + [w.value for w in at.warning]
        assert not any(re.search(r"(?<!\\)!\[|(?<!\\)<img", v) for v in shown), page
    at.switch_page("pages/drill_down.py").run()
    assert any(EVIL in t.value for t in at.text)  # the answer is there, as plain text


def test_the_markdown_report_escapes_the_run_folder_name(smoke_run: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run`![x](http:"
    shutil.copytree(smoke_run, run)
    out = tmp_path / "r.md"
    assert run_cli(["report", "--run", str(run), "--format", "md", "--out", str(out)], capsys)[0] == 0
    text = out.read_text()
    assert "![x](http:" not in text and "run\\`!\\[x\\](http:" in text


def test_a_run_folder_from_before_the_reserved_memory_columns_still_reads(smoke_run: Path, tmp_path: Path) -> None:
    """Columns added after the run format was fixed read as "not measured"; any other missing one is damage."""
    from harness.errors import HarnessError
    from harness.results import ADDED_LATER, read_run

    run = tmp_path / "older"
    shutil.copytree(smoke_run, run)
    frame = pd.read_parquet(run / "results.parquet")
    frame.drop(columns=list(ADDED_LATER)).to_parquet(run / "results.parquet")
    read = read_run(run)[0]
    assert read["peak_reserved_memory_mb"].isna().all() and read["train_gradient_checkpointing"].isna().all()
    frame.drop(columns=["train_peak_memory_mb"]).to_parquet(run / "results.parquet")
    with pytest.raises(HarnessError, match="missing columns train_peak_memory_mb"):
        read_run(run)


@pytest.mark.slow
def test_sigterm_to_the_run_alone_leaves_no_process_of_the_run_behind(tiny_llama: Path, tmp_path: Path) -> None:
    """A scheduler, `timeout` or a supervisor signals the run's own process, not its group: the run must kill the
    cell it is computing (and its fork server) and exit, with the finished cells kept. Before, the cell went on
    training, reparented to init. Waits on the processes' state, never on a fixed time."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    env = {**os.environ, "HARNESS_CACHE_DIR": str(tmp_path / "cache")}
    run = subprocess.Popen([sys.executable, "-m", "harness", "run", "--model", str(tiny_llama), "--profile", "smoke",
                            "--scenario", "multi_fact_qa", "--quiet", "--cell-process", "fresh",
                            "--strategy", "baseline", "--strategy", "lora", "--strategy", "rag", "--strategy", "raft",
                            "--out", str(tmp_path / "r")], env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def group() -> list[tuple[int, int, str]]:
        """(pid, parent, name) of every live process of the run's group (a zombie is dead: it holds nothing)."""
        out = []
        for p in psutil.process_iter(["pid", "ppid", "name", "status"]):
            try:
                if p.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(p.pid) == run.pid:
                    out.append((p.pid, p.info["ppid"], p.info["name"]))
            except (ProcessLookupError, psutil.NoSuchProcess):
                continue
        return out

    def a_cell_is_running() -> bool:  # a process forked by the fork server, not by the run itself
        return any(pid != run.pid and parent not in (run.pid, 1) for pid, parent, _ in group())

    deadline = time.monotonic() + 300
    while not a_cell_is_running():
        assert run.poll() is None, run.stderr.read().decode() if run.stderr else ""
        assert time.monotonic() < deadline, "no cell process started"
        time.sleep(0.05)
    os.kill(run.pid, signal.SIGTERM)  # the run's own process only
    assert run.wait(timeout=120) == 130
    deadline = time.monotonic() + 60
    while group():
        assert time.monotonic() < deadline, group()
        time.sleep(0.1)
