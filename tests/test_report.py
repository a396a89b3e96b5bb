"""The procurement report from a run folder: content from the numbers, escaping, every format."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.constraints import Constraints
from harness.report import write
from harness.sizing import gpu_for
from test_recommend import BASE, make_run, save_run


def write_run(folder: Path, scenario: str = "sc") -> Path:
    frame, samples = make_run(BASE, scenario)
    return save_run(folder, frame, samples, model="TinyModel")


def test_html_report_says_what_it_recommends_and_why(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    out = write(run, "html", tmp_path / "r.html", Constraints(memory_gb=4))
    text = out.read_text()
    # the answer first: the verdict card (verdict, the measure that decided, what is shown) before the numbers
    assert "sc: lora (best, shown). lora is best" in text
    assert text.index("Decided on: accuracy + 0.25 x supported accuracy.") < text.index("<h2>Evidence: sc</h2>")
    assert "lora is best: ahead of every other allowed strategy" in text
    assert "Excluded rag: peak memory 6.00 GB &gt; budget 4 GB." in text
    # the numbers the verdict rests on: lora against baseline, the only other allowed strategy (lora 12 right of 24
    # at faithfulness 0.5: 0.5 + 0.25 x 0.25; baseline, none right, earns nothing for its faithfulness)
    assert "<th>p (Holm)</th>" in text and "<td>baseline</td><td>24</td><td>0.56</td><td>0.00</td>" in text
    assert "data:image/png;base64," in text  # charts embedded: the file stands alone
    for heading in ("Verdicts", "Evidence: sc", "Hardware sizing", "Risks and caveats", "Methodology",
                    "Reproducibility manifest"):
        assert f"<h2>{heading}</h2>" in text


def test_the_report_says_what_the_answers_were_computed_in(tmp_path: Path) -> None:
    """On a bf16 CPU the weights are fp32 and the answers bf16: the summary and the manifest say both."""
    from test_recommend import make_run, save_run

    frame, samples = make_run(BASE, "sc")
    frame["answer_precision"] = "bfloat16"
    text = write(save_run(tmp_path / "bf16", frame, samples), "html", tmp_path / "a.html", Constraints()).read_text()
    assert text.count("(test cpu, cpu, None, answers in bfloat16)") == 1
    assert "<td>test cpu (cpu, None, answers in bfloat16), " in text  # the manifest table
    older = write(write_run(tmp_path / "old"), "html", tmp_path / "b.html", Constraints()).read_text()
    assert "answers in" not in older  # a run from before the column says nothing of it


def test_user_text_is_escaped(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", scenario="<script>alert(1)</script>")
    text = write(run, "html", tmp_path / "r.html", Constraints()).read_text()
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    md = write(run, "md", tmp_path / "r.md", Constraints()).read_text()
    assert "<script>" not in md


def test_markdown_report_writes_its_images_beside_it(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    out = write(run, "md", tmp_path / "out" / "report.md", Constraints())
    text = out.read_text()
    assert "](report_files/accuracy_heatmap.png)" in text
    assert (tmp_path / "out" / "report_files" / "accuracy_heatmap.png").stat().st_size > 1000


@pytest.mark.skipif(not shutil.which("chromium"), reason="headless Chromium is installed by .ci/run (apt-get)")
def test_pdf_report_opens_and_renders(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    pdf = write(run, "pdf", tmp_path / "report.pdf", Constraints())
    assert pdf.read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-f", "1", "-l", "1", "-r", "50", str(pdf), str(tmp_path / "page")],
                       check=True)
        assert list(tmp_path.glob("page*.png"))
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "Verdicts" in text and "sc: rag" in text


def test_one_card_fit_rule() -> None:
    """The report and harness size say the same card for the same figure (they disagreed on 21.8 GB)."""
    assert gpu_for(5.0).startswith("an 8 GB card") and gpu_for(7.5).startswith("a 16 GB card")
    assert gpu_for(21.8).startswith("a 24 GB card") and gpu_for(70).startswith("an 80 GB card")
    assert gpu_for(500) == "7 x 80 GB cards (sharded)"


def test_report_on_a_missing_run_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    assert main(["report", "--run", str(tmp_path / "nope"), "--format", "html"]) == 2
    assert capsys.readouterr().err.strip() == f"error: --run {tmp_path / 'nope'}: not a run folder (no results.parquet)"


def test_a_model_limited_result_is_said_in_sizing_and_risks_with_the_slices(tmp_path: Path) -> None:
    frame, samples = make_run(BASE)
    frame.loc[frame["strategy"] == "rag", "recognises_not_writes"] = True
    frame.loc[frame["strategy"] == "rag", "mc_accuracy_norm"] = 0.96
    frame[["accuracy_seen", "n_items_seen"]] = [[0.5, 24]] * len(frame)
    frame.loc[frame["strategy"] == "lora", "accuracy_seen"] = 1.0
    run = save_run(tmp_path / "run", frame, samples, model="TinyModel")
    text = " ".join(write(run, "md", tmp_path / "r.md", Constraints()).read_text().split())
    assert "These numbers are limited by the measured model (TinyModel): rag recognise answers they do not write." in text
    assert "The measured model recognises the right answer but does not write it: rag (picks 0.96" in text
    assert "Accuracy by slice" in text and "| lora | 1.00 |" in text.replace("seen (n=24) |", "")


def test_the_sizing_section_sizes_the_recommendation_for_the_target_model(tmp_path: Path) -> None:
    from harness.sizing import KNOWN, Setting, predict

    run = write_run(tmp_path / "run")
    plain = write(run, "md", tmp_path / "plain.md", Constraints()).read_text()
    assert "Predicted for" not in plain
    assert "a 70B model on 2 GPUs instead of 36" in plain  # the received claim gets its line either way
    # with a 4 GB budget the run recommends lora (test above): its training is sized with and without checkpointing
    text = write(run, "md", tmp_path / "r.md", Constraints(memory_gb=4), KNOWN["phi-3-mini"]).read_text()
    assert "Predicted for phi-3-mini" in text and "To run lora on phi-3-mini (3.8 B parameters)" in text
    batch = 8  # the manifest's profile has no train settings here: the defaults
    total = predict(KNOWN["phi-3-mini"], Setting("lora", seq=512, batch=batch, rank=16)).gb()
    assert f"| sc | lora | lora, batch {batch} x 512 |" in text and f"| {total:.1f} |" in text
    assert f"| sc | lora | lora, batch {batch} x 512, checkpointing |" in text


def test_a_name_with_dollar_signs_is_drawn_as_text(tmp_path: Path) -> None:
    """A scenario called "cost $x$ per $y$" made matplotlib parse mathtext and fail while drawing the charts."""
    run = write_run(tmp_path / "run", scenario="cost $x$ per $y$ and $\\\\frac{a}{")
    text = write(run, "html", tmp_path / "r.html", Constraints()).read_text()
    assert "cost $x$ per $y$" in text and "data:image/png;base64," in text


def test_only_a_borrowed_adapter_is_labelled_as_one() -> None:
    """The report labelled qlora's and raft's training rows "(lora's adapter)": parquet's NaN is truthy."""
    from harness.report import _reused

    assert _reused(float("nan")) == "" and _reused(None) == "" and _reused("lora") == " (lora's adapter)"
