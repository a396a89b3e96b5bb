"""A team's documents: every supported format yields its text, unreadable files are named and skipped, a
folder corpus's hash follows its files, `harness scenarios new` writes a valid scenario, and free-form
items (question + reference only) run end to end on the tiny model."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from harness.cli import main
from harness.config import load_scenario
from harness.documents import read_folder
from harness.models import resolve_device, resolve_model
from harness.profiles import get_profile
from harness.run import RunOptions, run_matrix
from harness.run.plan import cell_key

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "scenarios" / "examples"


def _generator():  # noqa: ANN202 - the example's own script, imported as a module
    spec = importlib.util.spec_from_file_location("make_helpdesk_docs", EXAMPLE / "make_helpdesk_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_each_format_yields_its_text(tmp_path: Path) -> None:
    gen = _generator()
    gen.make(tmp_path)
    docs = {d.id: d for d in read_folder(tmp_path)[0]}
    assert sorted(docs) == ["contacts.md", "error_codes.pptx", "maintenance.docx", "returns.html", "shipping.txt",
                            "warranty.pdf"]
    expect = {"warranty.pdf": gen.WARRANTY[1:], "maintenance.docx": gen.MAINTENANCE[1:],
              "error_codes.pptx": [body for _, body in gen.ERROR_CODES],
              "returns.html": ["A restocking fee of 15% of the part price applies"],
              "contacts.md": ["+49 30 555 0142"], "shipping.txt": ["Orders placed before 14:00 CET"]}
    for doc_id, sentences in expect.items():
        for sentence in sentences:
            assert sentence in docs[doc_id].text, (doc_id, sentence)
    assert docs["warranty.pdf"].title == "Warranty policy"
    assert docs["error_codes.pptx"].title == "Error codes on the KP controller"


def test_converted_text_is_cached_per_file_content(tmp_path: Path, fresh_cache: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import harness.documents as documents

    docs = tmp_path / "docs"  # beside the cache (tmp_path/cache), not around it
    _generator().make(docs)
    first = read_folder(docs)[0]
    assert len(list((fresh_cache / "documents").glob("*.md"))) == 4  # pdf, docx, pptx, html (md and txt are read)

    def no_conversion(path: Path) -> str:
        raise AssertionError(f"{path} converted again")

    monkeypatch.setattr(documents, "to_text", no_conversion)
    assert read_folder(docs)[0] == first
    (docs / "returns.html").write_text("<html><body><p>Returns are closed.</p></body></html>")
    capsys.readouterr()
    ids = [d.id for d in read_folder(docs)[0]]  # a changed file is converted anew (here: refused, so skipped)
    assert "returns.html" not in ids and len(ids) == 5
    assert "returns.html converted again" in capsys.readouterr().err


def test_the_committed_example_documents_are_what_the_script_writes(tmp_path: Path) -> None:
    _generator().make(tmp_path)
    fresh = [(d.id, d.text) for d in read_folder(tmp_path)[0]]
    committed = [(d.id, d.text) for d in read_folder(EXAMPLE / "helpdesk" / "docs")[0]]
    assert fresh == committed


def test_an_unreadable_file_is_skipped_with_one_warning_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "good.md").write_text("# Hours\nOpen 07:00 to 18:00.")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf \x00\xff")
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not a zip archive")
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "notes.xyz").write_text("an unsupported format is not a document")
    docs, _ = read_folder(tmp_path)
    assert [d.id for d in docs] == ["good.md"]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3
    for name in ("broken.pdf", "broken.docx", "empty.txt"):
        assert sum(line.startswith(f"warning: corpus: {name}: ") and line.endswith("skipped") for line in err) == 1


def _folder_scenario(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLE / "helpdesk", tmp_path / "helpdesk")
    shutil.copy(EXAMPLE / "helpdesk.yaml", tmp_path / "helpdesk.yaml")
    return tmp_path / "helpdesk.yaml"


def test_a_folder_corpus_key_changes_when_one_file_changes(tmp_path: Path, tiny_llama: Path) -> None:
    path = _folder_scenario(tmp_path)
    model, device, prof = resolve_model(str(tiny_llama)), resolve_device("cpu"), get_profile("smoke")

    def key() -> tuple[str, str]:
        sc = load_scenario(path)
        return sc.file_hashes["corpus"], cell_key(sc, "rag", prof, model, 0, device, {})

    before = key()
    assert before == key()  # stable
    shipping = tmp_path / "helpdesk" / "docs" / "shipping.txt"
    shipping.write_text(shipping.read_text().replace("29 EUR", "31 EUR"))
    after = key()
    assert after[0] != before[0] and after[1] != before[1]
    (tmp_path / "helpdesk" / "docs" / "new.md").write_text("# New\nA new page.")
    assert key()[0] != after[0]


def test_scenarios_new_names_what_it_could_not_fill(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    qa = tmp_path / "qa.csv"
    qa.write_text("q,a\nWhen is the help desk open?,Monday to Friday 07:00-18:00.\n"
                  "What does express cost?,29 EUR.\nWhat is E14?,Dry running.\n")
    out = tmp_path / "mine.yaml"
    docs = EXAMPLE / "helpdesk" / "docs"
    assert main(["scenarios", "new", "--corpus", str(docs), "--qa", str(qa), "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (f"error: --qa {qa}: no column question, answer (columns: a, q); name them "
                                               "with --question-column / --answer-column / --doc-column")
    code = main(["scenarios", "new", "--corpus", str(docs), "--qa", str(qa), "--out", str(out),
                 "--question-column", "q", "--answer-column", "a"])
    text = capsys.readouterr().out
    assert code == 0 and text.startswith(f"wrote {out} (6 documents, 1 train and 2 eval items)")
    assert "wrong_options: not filled" in text and "2 of 2 eval items name no document (no --doc-column)" in text
    # the corpus is not under tmp_path: the one next command names the folder it may read, and it validates as printed
    nxt = text.strip().splitlines()[-1]
    assert nxt == f"next: HARNESS_DATA_DIR={docs.resolve()} harness run --scenario {out}"
    import os
    from unittest import mock
    with mock.patch.dict(os.environ, {"HARNESS_DATA_DIR": str(docs.resolve())}):
        assert main(["scenarios", "validate", str(out)]) == 0
    with mock.patch.dict(os.environ, {"HARNESS_DATA_DIR": ""}):
        assert main(["scenarios", "validate", str(out)]) == 2  # without it, refused: the variable is needed


@pytest.mark.slow
def test_free_form_items_run_end_to_end_on_the_tiny_model(tmp_path: Path, tiny_llama: Path, fresh_cache: Path) -> None:
    sc = load_scenario(_folder_scenario(tmp_path))
    # key facts written by scenarios new, no wrong options
    assert sc.kind == "custom" and all(i.required_facts for i in sc.eval) and not any(i.wrong_options for i in sc.eval)
    opts = RunOptions(scenarios=[sc], strategies=["baseline", "rag", "lora", "raft"], profile=get_profile("smoke"),
                      model=resolve_model(str(tiny_llama)), device=resolve_device("cpu"), seeds=[0],
                      out=tmp_path / "run", argv=["test"], progress=False)
    df = run_matrix(opts).set_index("strategy")
    assert list(df["status"]) == ["ok"] * 4, list(df["error"])
    assert df["accuracy"].between(0, 1).all() and (df["n_items"] == 4).all()
    assert df.loc["rag", "hit_at_k"] >= 0 and df.loc["rag", "index_seconds"] > 0
    assert df["mc_accuracy"].isna().all()  # no wrong options: not measured, never made up
    # recognition needs no wrong options: every strategy has it, and it decides where nobody writes answers
    assert df["keyfact_loglik"].notna().all() and (df["keyfact_loglik"] < 0).all()
    from harness.constraints import Constraints
    from harness.recommend import recommend
    from harness.results import read_run

    frame, samples, _ = read_run(tmp_path / "run")
    rec = recommend(frame, samples, Constraints())[sc.name]
    # the tiny random model writes none of these answers: recognition decides, and the caveat says so
    assert rec.nobody_answers and rec.quantity == "recognition"
    assert any(c.startswith("Decided on recognition") for c in rec.caveats)


def test_scenarios_new_writes_key_facts_the_question_does_not_give(tmp_path: Path) -> None:
    """The helpdesk example, written by the command: every item has key facts, each one its reference states and
    its question does not, and the scenario is scored on them (token F1 only beside them)."""
    import json

    import yaml

    from harness.textnorm import contains

    out = tmp_path / "helpdesk.yaml"
    assert main(["scenarios", "new", "--corpus", str(EXAMPLE / "helpdesk" / "docs"), "--qa",
                 str(EXAMPLE / "helpdesk" / "qa.csv"), "--out", str(out), "--doc-column", "source"]) == 0
    assert yaml.safe_load(out.read_text())["scorer"] == "facts"
    items = [json.loads(line) for f in ("train.jsonl", "eval.jsonl")
             for line in (tmp_path / "helpdesk" / f).read_text().splitlines()]
    facts = {i.get("question", i.get("instruction")): i["required_facts"] for i in items}
    assert facts["How long is the warranty on a KP-200 pump?"] == ["36-month"]  # not KP-200: the question gives it
    assert facts["How do I fix error E31?"] == ["PS-9"]
    assert facts["When is the help desk open?"] == ["07:00", "18:00", "CET", "Friday"]
    for i in items:
        question, reference = i.get("question", i.get("instruction")), i.get("reference", i.get("response"))
        assert i["required_facts"] and all(contains(reference, f) and not contains(question, f)
                                           for f in i["required_facts"]), i
    # the committed example is what the command writes
    for f in ("train.jsonl", "eval.jsonl"):
        assert (tmp_path / "helpdesk" / f).read_text() == (EXAMPLE / "helpdesk" / f).read_text()
