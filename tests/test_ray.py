"""The matrix on a local Ray instance (started here, 2 CPUs): same rows as the local executor, the driver
alone writes the cache, a dead worker fails its cell only, a killed driver resumes, hybrid reuses lora."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from harness.results import read_run
from harness.run import make_executor, run_matrix
from test_matrix import kill_mid_run_and_resume, options

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A local Ray instance for this module; its workers also register the failing test strategies."""
    import ray_faults

    ray_faults.install()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR",
             runtime_env={"env_vars": {"PYTHONPATH": str(TESTS)}, "worker_process_setup_hook": "ray_faults.install"})
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        ray_faults.uninstall()


LOCAL_STRATEGIES = ["baseline", "rag", "lora", "hybrid"]


@pytest.fixture(scope="module")
def local_run(tiny_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    """The local executor's rows and run folder, computed once for the module (with a cache of their own)."""
    out = tmp_path_factory.mktemp("ray-local")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HARNESS_CACHE_DIR", str(out / "cache"))
        return run_matrix(options(tiny_llama, out / "run", LOCAL_STRATEGIES)), out / "run"


def _same_rows(local: pd.DataFrame, remote: pd.DataFrame) -> None:
    local = local[local["strategy"].isin(remote["strategy"])]
    cols = [c for c in COMPARED if c in local.columns]
    pd.testing.assert_frame_equal(local[cols].reset_index(drop=True), remote[cols].reset_index(drop=True),
                                  check_exact=False, atol=1e-4)


def ray_options(model: Path, out: Path, strategies: list[str]):  # noqa: ANN201
    return dataclasses.replace(options(model, out, strategies), executor="ray")


COMPARED = ["scenario", "strategy", "seed", "status", "accuracy", "accuracy_updated", "fact_recall", "faithfulness",
            "hit_at_k", "train_loss_last", "train_steps", "n_items", "cell_key"]


def test_ray_gives_the_rows_of_the_local_executor_and_hybrid_reuses_lora(
        cluster: str, tmp_path: Path, tiny_llama: Path, local_run: tuple[pd.DataFrame, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    local, local_dir = local_run
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "ray-cache"))  # nothing served from the local run
    remote = run_matrix(ray_options(tiny_llama, tmp_path / "ray", LOCAL_STRATEGIES))

    assert list(remote["status"]) == ["ok"] * 4, list(remote["error"])
    _same_rows(local, remote)
    _, samples, manifest = read_run(tmp_path / "ray")
    answers = {name: [(s["strategy"], s["item_id"], s["answer"]) for s in run_samples]
               for name, run_samples in (("local", read_run(local_dir)[1]), ("ray", samples))}
    assert answers["local"] == answers["ray"] and len(answers["ray"]) > 0

    # provenance: the manifest names the executor and its node(s); every row, the node that computed it
    assert manifest["executor"]["name"] == "ray" and len(manifest["executor"]["nodes"]) == 1
    node = manifest["executor"]["nodes"][0]
    assert node["cpus"] == 2 and node["device"]["device"] == "cpu"
    assert set(remote["node"]) == {node["node"]} and "ray node" in node["node"]
    assert set(local["node"]) == {os.uname().nodename}

    # hybrid answered with lora's adapter: one adapter trained, none retrained for the hybrid cell
    by = remote.set_index("strategy")
    assert by.loc["hybrid", "adapter_path"] == by.loc["lora", "adapter_path"]
    assert by.loc["hybrid", "train_reused_from"] == "lora"
    adapters = list((tmp_path / "ray-cache" / "artifacts").glob("*/adapter"))
    assert [str(a) for a in adapters] == [by.loc["lora", "adapter_path"]]
    assert manifest["executor"]["cell_process"] == "a fresh worker process per cell"


def test_long_lived_actors_give_the_same_rows(cluster: str, tmp_path: Path, tiny_llama: Path,
                                             local_run: tuple[pd.DataFrame, Path],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The GPU path (one actor per GPU keeping the model across its cells), run with CPU actors here."""
    from harness.run.ray_executor import RayExecutor

    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "actor-cache"))
    remote = run_matrix(ray_options(tiny_llama, tmp_path / "actors", ["baseline", "lora", "hybrid"]),
                        RayExecutor(actors=True))
    assert list(remote["status"]) == ["ok"] * 3, list(remote["error"])
    _same_rows(local_run[0], remote)
    assert read_run(tmp_path / "actors")[2]["executor"]["cell_process"].startswith("one long-lived actor per worker")


def test_a_cell_that_raises_or_whose_worker_dies_fails_alone(cluster: str, tmp_path: Path, tiny_llama: Path,
                                                             fresh_cache: Path) -> None:
    df = run_matrix(ray_options(tiny_llama, tmp_path / "run", ["baseline", "boom", "crash"])).set_index("strategy")
    assert df.loc["baseline", "status"] == "ok"
    assert df.loc["boom", "status"] == "failed"
    assert df.loc["boom", "error"] == "RuntimeError: simulated failure inside the cell"
    assert df.loc["crash", "status"] == "failed"
    assert df.loc["crash", "error"].startswith("WorkerCrashedError: ")
    assert pd.isna(df.loc["crash", "accuracy"]) and pd.isna(df.loc["boom", "accuracy"])

    # the next run retries the failed cells and serves the finished one from the cache
    again = run_matrix(ray_options(tiny_llama, tmp_path / "run", ["baseline", "boom", "crash"])).set_index("strategy")
    assert again.loc["baseline", "created_at"] == df.loc["baseline", "created_at"]
    assert list(again["status"]) == ["ok", "failed", "failed"]
    assert len(json.loads((tmp_path / "run" / "manifest.json").read_text())["cells"]) == 3


def test_a_killed_driver_resumes_with_one_row_per_cell(cluster: str, tmp_path: Path, tiny_llama: Path,
                                                       fresh_cache: Path) -> None:
    """The driver, connected to the test's cluster, is SIGKILLed mid-run; Ray drops its tasks, and the rerun
    computes only the cells not yet in the cache."""
    done = kill_mid_run_and_resume(tiny_llama, fresh_cache, tmp_path / "run",
                                   ["--executor", "ray", "--ray-address", cluster], wait_s=180)
    assert "executor ray" in done.stdout


def test_an_unreachable_cluster_is_one_line_and_exit_2_within_seconds(tmp_path: Path, tiny_llama: Path) -> None:
    cmd = [sys.executable, "-m", "harness", "run", "--executor", "ray", "--ray-address", "127.0.0.1:1",
           "--model", str(tiny_llama), "--profile", "smoke", "--out", str(tmp_path / "run")]
    started = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    err = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(err) == 1, done.stderr
    assert err[0].startswith("error: --ray-address 127.0.0.1:1: cannot connect to Ray (nothing answers at 127.0.0.1:1")
    assert time.monotonic() - started < 60  # ray.init alone retries such an address for minutes
    assert not (tmp_path / "run").exists()


def test_without_ray_installed_the_executor_names_the_install_command(monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str],
                                                                      tmp_path: Path) -> None:
    from harness.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    code = main(["run", "--executor", "ray", "--profile", "smoke", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == ['error: --executor ray: Ray is not installed; install it with: '
                                 'pip install "harness[ray]"']
    with pytest.raises(Exception, match="not installed"):
        make_executor("ray")
