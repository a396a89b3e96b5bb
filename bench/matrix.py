"""The default matrix's wall time, cold and served from the cache, and the accuracy gaps it still shows.

Runs `harness run` (quick profile, built-in scenarios, default strategies, embedded model) with a fresh
cell/adapter cache (the converted model is linked in, so GGUF conversion is not counted), then the
same command again on that cache. Prints both wall times, their ratio, and accuracy per scenario and
strategy, so a speed-up that bought its time with the quality gaps shows. Run: python bench/matrix.py
(about 40 min on a 2-core CPU, measured; --scenario narrows it: one scenario ~11 min).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed_run(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harness", "run", "--quiet", *args], env=env, check=True)
    return time.perf_counter() - start


def main() -> None:
    import pandas as pd

    from harness.models import cache_dir, resolve_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", action="append", default=[])
    p.add_argument("--out", default=None, help="run folder (default: a temporary one)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="auto: the GPU where there is one, else the CPU")
    a = p.parse_args()
    model = resolve_model("embedded")  # converts the GGUF once, outside the timed runs
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        cache = Path(tmp) / "cache"
        (cache / "models").mkdir(parents=True)
        (cache / "models" / Path(model.path).name).symlink_to(Path(model.path))
        out = a.out or str(Path(tmp) / "run")
        env = {**os.environ, "HARNESS_CACHE_DIR": str(cache)}
        args = ["--out", out, "--device", a.device] + [x for s in a.scenario for x in ("--scenario", s)]
        cold = timed_run(args, env)
        warm = timed_run(args, env)
        rows = pd.read_parquet(Path(out) / "results.parquet")
    print(f"\nharness run {' '.join(args)} (model cache {cache_dir()}):")
    print(f"  cold (empty cell cache): {cold / 60:.1f} min ({cold:.0f} s)")
    print(f"  rerun (served from the cache): {warm:.1f} s = {100 * warm / cold:.2f}% of the cold run")
    table = rows.pivot_table(index="strategy", columns="scenario", values="accuracy", sort=False)
    print("\naccuracy (held-out eval set):")
    print(table.round(2).to_string())
    trained = rows[rows["train_seconds"] > 0].drop_duplicates("adapter_path")
    print(f"\ntraining: {trained['train_seconds'].sum():.0f} s over {len(trained)} adapters; "
          f"answering (eval + updated sets): {rows['infer_seconds'].sum():.0f} s")


if __name__ == "__main__":
    main()
