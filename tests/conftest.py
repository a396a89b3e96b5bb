"""Shared fixtures. Tests never touch a model hub, and never the user's harness cache."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# set at import, before any harness code reads it: a fresh cache for the whole session
os.environ["HARNESS_CACHE_DIR"] = tempfile.mkdtemp(prefix="harness-test-cache-")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny")


@pytest.fixture(scope="session")
def tiny_llama(tiny_dir: Path) -> Path:
    from tiny_models import build_tiny

    return build_tiny("llama", tiny_dir / "llama", tiny_dir / "tokenizer")


@pytest.fixture(scope="session")
def tiny_phi3(tiny_dir: Path) -> Path:
    from tiny_models import build_tiny

    return build_tiny("phi3", tiny_dir / "phi3", tiny_dir / "tokenizer")


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache of this test's own, so cache hits and misses are the test's doing."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(scope="session")
def smoke_run(tiny_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run folder (tiny model, smoke profile, multi_fact_qa, the default matrix) for the app and report."""
    from harness.run import run_matrix
    from test_matrix import options

    out = tmp_path_factory.mktemp("app") / "run"
    run_matrix(options(tiny_llama, out, ["baseline", "rag", "lora", "qlora", "hybrid"]))
    return out
