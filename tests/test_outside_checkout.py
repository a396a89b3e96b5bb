"""Run outside a git checkout (an installed package): nothing like `fatal: not a git repository` reaches the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_the_commit_outside_a_checkout_is_none_and_silent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capfd: pytest.CaptureFixture[str]) -> None:
    from harness.run import provenance

    monkeypatch.setattr(provenance, "project_root", lambda: tmp_path)  # not a checkout
    provenance.git_commit.cache_clear()  # read once per process: an earlier test may have read the checkout's
    try:
        assert provenance.git_commit() == "none"
    finally:
        provenance.git_commit.cache_clear()
    out, err = capfd.readouterr()
    assert "fatal" not in out + err


def test_lm_eval_records_no_commit_while_harness_scores(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                        capfd: pytest.CaptureFixture[str]) -> None:
    import lm_eval.evaluator as evaluator

    from harness.lmeval import _our_commit

    monkeypatch.chdir(tmp_path)  # lm-eval runs `git describe` in the working directory
    with _our_commit():
        assert evaluator.get_git_commit_hash() is None
    _, err = capfd.readouterr()
    assert "fatal" not in err
