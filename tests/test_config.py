"""Scenario validation: the built-ins pass, broken files fail with one exact line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.config import load_scenario

ROOT = Path(__file__).resolve().parent.parent
GOOD_DOC = {"id": "D1", "title": "t", "text": "Part KP-1 is sourced from Acme."}
GOOD_ITEM = {"id": "q1", "question": "Who supplies KP-1?", "reference": "Acme supplies KP-1.",
             "gold_doc_ids": ["D1"], "required_facts": ["Acme"]}


def write_scenario(folder: Path, overrides: dict | None = None, item: dict | None = None, drop: str | None = None) -> Path:
    """A minimal valid scenario in `folder`, with one field changed or removed."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "data" / "corpus.jsonl").write_text(json.dumps(GOOD_DOC) + "\n")
    (folder / "data" / "train.jsonl").write_text(json.dumps({"id": "t1", "instruction": "i", "response": "r"}) + "\n")
    (folder / "data" / "eval.jsonl").write_text(json.dumps(item or GOOD_ITEM) + "\n")
    spec = {
        "name": "tiny", "description": "a tiny scenario", "kind": "custom",
        "corpus": "data/corpus.jsonl", "train": "data/train.jsonl", "eval": "data/eval.jsonl",
        "scorer": "facts", "profiles": {"smoke": {"train": 1, "eval": 1}},
    }
    spec.update(overrides or {})
    if drop:
        del spec[drop]
    path = folder / "tiny.yaml"
    import yaml

    path.write_text(yaml.safe_dump(spec))
    return path


def validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["scenarios", "validate", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_builtin_scenarios_validate(capsys: pytest.CaptureFixture[str]) -> None:
    paths = sorted(str(p) for p in (ROOT / "scenarios").glob("*.yaml"))
    assert len(paths) == 3
    assert main(["scenarios", "validate", *paths]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"ok {p}" for p in paths]


def test_minimal_scenario_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_scenario(tmp_path)
    assert validate(path, capsys) == (0, f"ok {path}\n", "")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"drop": "kind"}, "{p}: kind: required field is missing"),
        ({"overrides": {"profiles": {"smoke": {"train": "many", "eval": 1}}}},
         "{p}: profiles.smoke.train: Input should be a valid integer"),
        ({"overrides": {"kind": "poetry"}},
         "{p}: kind: Input should be 'vertical_vocabulary', 'multi_fact_qa', 'business_flow' or 'custom'"),
        ({"overrides": {"scorer": "vibes"}},
         "{p}: scorer: Value error, unknown scorer 'vibes' (known: business_flow, exact_match, facts, rouge_l, token_f1, vocabulary)"),
        ({"overrides": {"colour": "blue"}}, "{p}: colour: unknown field"),
        ({"overrides": {"corpus": "data/missing.jsonl"}}, "{p}: corpus: file not found: data/missing.jsonl"),
        ({"overrides": {"profiles": {"smoke": {"train": 1, "eval": 5}}}},
         "{p}: profiles.smoke.eval: asks for 5 records but the file has 1"),
        ({"item": {**GOOD_ITEM, "gold_doc_ids": ["D999"]}},
         "{p}: eval (data/eval.jsonl): item 1 ('q1'): gold_doc_ids: unknown document id 'D999' (not in corpus)"),
        ({"item": {**GOOD_ITEM, "required_facts": []}},
         "{p}: eval (data/eval.jsonl): item 1 ('q1'): required_facts: required by scorer 'facts' but empty"),
        ({"item": {k: v for k, v in GOOD_ITEM.items() if k != "question"}},
         "{p}: eval (data/eval.jsonl):1: question: required field is missing"),
        ({"overrides": {"kind": "multi_fact_qa"}},
         "{p}: eval (data/eval.jsonl): item 1 ('q1'): gold_doc_ids: a multi_fact_qa item needs at least two different documents"),
        ({"item": {**GOOD_ITEM, "wrong_options": ["a", "b"]}},
         "{p}: eval (data/eval.jsonl): item 1 ('q1'): wrong_options: expected 3 wrong options, got 2"),
    ],
)
def test_broken_scenarios_give_one_exact_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], kwargs: dict, expected: str) -> None:
    path = write_scenario(tmp_path, **kwargs)
    code, out, err = validate(path, capsys)
    assert code == 2
    assert out == ""
    assert err == "error: " + expected.format(p=path) + "\n"


def test_path_escaping_the_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside.jsonl"
    outside.write_text(json.dumps(GOOD_DOC) + "\n")
    path = write_scenario(tmp_path / "proj", overrides={"corpus": "../outside.jsonl"})
    code, _, err = validate(path, capsys)
    assert code == 2
    assert err == (f"error: {path}: corpus: path '../outside.jsonl' leaves the scenario's folder "
                   f"(allowed: {tmp_path / 'proj'}; set HARNESS_DATA_DIR to allow another)\n")


def test_data_dir_env_allows_a_user_data_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tmp_path / "shared"
    outside.mkdir()
    (outside / "corpus.jsonl").write_text(json.dumps(GOOD_DOC) + "\n")
    path = write_scenario(tmp_path / "proj", overrides={"corpus": "../shared/corpus.jsonl"})
    monkeypatch.setenv("HARNESS_DATA_DIR", str(outside))
    assert validate(path, capsys)[0] == 0


def test_invalid_yaml_and_bad_json_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    code, _, err = validate(bad, capsys)
    assert code == 2 and err.startswith(f"error: {bad}:") and "invalid YAML" in err and err.count("\n") == 1

    path = write_scenario(tmp_path / "p")
    (tmp_path / "p" / "data" / "eval.jsonl").write_text(json.dumps(GOOD_ITEM) + "\n{not json\n")
    code, _, err = validate(path, capsys)
    assert code == 2
    assert err == f"error: {path}: eval (data/eval.jsonl):2: invalid JSON: Expecting property name enclosed in double quotes (column 2)\n"


def test_include_merges_base_and_detects_cycles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_scenario(tmp_path, drop="profiles")
    (tmp_path / "base.yaml").write_text("profiles:\n  smoke: {train: 1, eval: 1}\ndescription: from base\n")
    path.write_text("include: base.yaml\n" + path.read_text())
    s = load_scenario(path)
    assert s.spec.profiles["smoke"].eval == 1
    assert s.spec.description == "a tiny scenario"  # the including file wins

    (tmp_path / "base.yaml").write_text("include: tiny.yaml\n")
    code, _, err = validate(path, capsys)
    assert code == 2 and err == f"error: {path} -> base.yaml -> tiny.yaml: include: cycle (a file includes itself)\n"


def test_cli_subprocess_prints_no_traceback(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, drop="scorer")
    proc = subprocess.run([sys.executable, "-m", "harness", "scenarios", "validate", str(path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == f"error: {path}: scorer: required field is missing\n"


def test_run_rejects_unknown_scenario_and_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--scenario", "nope", "--profile", "quick"]) == 2
    err = capsys.readouterr().err
    assert err == ("error: --scenario: no scenario file or built-in scenario named 'nope' "
                   "(built-in: business_flow, multi_fact_qa, vertical_vocabulary)\n")
    assert main(["run", "--scenario", "business_flow", "--profile", "huge"]) == 2
    assert capsys.readouterr().err == "error: --profile huge: unknown profile (known: smoke, quick, full)\n"


def test_run_rejects_a_profile_the_scenario_does_not_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_scenario(tmp_path)  # sizes only the smoke profile
    assert main(["run", "--scenario", str(path), "--profile", "quick"]) == 2
    assert capsys.readouterr().err == f"error: {path}: profiles: no profile 'quick' (defined: smoke)\n"


def test_an_empty_gold_list_and_a_short_update_set_are_refused_before_any_work(tmp_path) -> None:  # noqa: ANN001
    """Found by trying it as a new user: both validated and then failed, or meant nothing, later."""
    import json
    import shutil

    import pytest

    from harness.config import ConfigError, load_scenario

    src = Path(__file__).resolve().parent.parent
    folder = tmp_path / "sc"
    shutil.copytree(src / "datasets" / "multi_fact_qa", folder / "data")
    text = (src / "scenarios" / "multi_fact_qa.yaml").read_text()
    yaml_text = text.replace("../datasets/multi_fact_qa/", "data/")
    assert "include:" in yaml_text
    yaml_text = yaml_text.replace("include: _base/defaults.yaml", "").replace(
        "profiles:\n", "profiles:\n  smoke: {train: 8, eval: 4}\n  quick: {train: 24, eval: 24}\n")
    spec = folder / "mf.yaml"
    spec.write_text(yaml_text)
    load_scenario(spec)  # as copied, it loads
    rows = (folder / "data" / "eval_update.jsonl").read_text().splitlines()
    (folder / "data" / "eval_update.jsonl").write_text("\n".join(rows[:10]) + "\n")
    with pytest.raises(ConfigError, match=r"profiles.quick.eval: asks for 24 records but corpus_update.eval"):
        load_scenario(spec)
    (folder / "data" / "eval_update.jsonl").write_text("\n".join(rows) + "\n")
    first = json.loads((folder / "data" / "eval.jsonl").read_text().splitlines()[0])
    assert first["gold_doc_ids"]
    spec.write_text(spec.read_text().replace("kind: multi_fact_qa", "kind: custom").replace("scorer: facts",
                                                                                          "scorer: token_f1"))
    lines = (folder / "data" / "eval.jsonl").read_text().splitlines()
    (folder / "data" / "eval.jsonl").write_text("\n".join([json.dumps({**first, "gold_doc_ids": []}), *lines[1:]]) + "\n")
    with pytest.raises(ConfigError, match=r"item 1 \('mf-001'\): gold_doc_ids: an empty list; leave the field out"):
        load_scenario(spec)
