"""Peak memory is the phase's own, not what earlier work left behind."""

from __future__ import annotations

import numpy as np

from harness.measure import track_peak_memory


def test_cpu_peak_excludes_memory_freed_before_the_phase() -> None:
    blocks = [np.ones(1000) for _ in range(300_000)]  # ~2.4 GB in small blocks the allocator would keep
    del blocks
    with track_peak_memory("cpu") as idle:  # what the process holds anyway (models and libraries of other tests)
        pass
    with track_peak_memory("cpu") as mem:
        x = np.ones(100_000_000 // 8)  # 100 MB touched inside the phase
        x[:] = 2.0
    assert mem.kind == "cpu_rss"
    # the phase's 100 MB on top of the idle process, not the 2.4 GB freed before it
    assert 90 <= mem.peak_mb - idle.peak_mb < 1000, (mem.peak_mb, idle.peak_mb)
    assert mem.seconds > 0
