"""Peak memory and timers, labelled by kind so nobody mistakes CPU RSS for GPU memory.

CUDA: the allocator's cache emptied and its peaks reset at the start of a phase (so a phase never inherits
an earlier one's pool); `peak_mb` is what a card must hold, the peak reserved plus the CUDA context, and
the peak allocated is kept beside it.
CPU: the process's peak resident set (VmHWM), reset through /proc/self/clear_refs where Linux
allows it; where it does not, the lifetime peak (ru_maxrss) is reported and labelled so.
"""

from __future__ import annotations

import re
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


def _vm_hwm_mb() -> float | None:
    try:
        m = re.search(r"VmHWM:\s+(\d+)\s+kB", open("/proc/self/status").read())
    except OSError:
        return None
    return int(m.group(1)) / 1024 if m else None


def _release_freed_heap() -> None:
    """Give memory that earlier work freed back to the OS, so it does not count as this phase's.

    glibc keeps freed blocks mapped: without this, a cell that follows a training cell starts with
    the trainer's leftovers resident, and its "peak" measures its predecessor.
    """
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    name = ctypes.util.find_library("c")
    if name:
        try:
            ctypes.CDLL(name).malloc_trim(0)
        except (OSError, AttributeError):
            pass


def _reset_rss_peak() -> bool:
    _release_freed_heap()
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class OutOfMemory(RuntimeError):
    """A phase ran out of memory: the cell fails with where, and the run goes on."""


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or the CPU allocator's refusal (a RuntimeError that says so)."""
    import torch

    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


@contextmanager
def out_of_memory_as(phase: str, batch: int, sequence: int) -> Iterator[None]:
    """Turn an out-of-memory error in the block into OutOfMemory("out of memory at batch B, sequence L"), so
    that the row says what did not fit (compute_cell frees the memory once the failed cell's frames are gone)."""
    try:
        yield
    except Exception as exc:
        if not is_out_of_memory(exc) or isinstance(exc, OutOfMemory):
            raise
        raise OutOfMemory(f"out of memory at batch {batch}, sequence {sequence} ({phase})") from None


def free_memory() -> None:
    """What a failed or finished cell held, given back before the next one starts (CUDA's cache too)."""
    _release_freed_heap()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


@dataclass
class PeakMemory:
    """Filled when the `track_peak_memory` block ends."""

    kind: str  # "cuda" or "cpu_rss" (or "cpu_rss_lifetime" where the peak could not be reset)
    peak_mb: float = float("nan")  # CPU: peak resident set; CUDA: peak reserved + context (what a card holds)
    reserved_mb: float = float("nan")
    allocated_mb: float = float("nan")  # CUDA: the peak of live tensors
    context_mb: float = float("nan")  # CUDA: device memory in use beyond the allocator's (context, kernels)
    seconds: float = float("nan")
    extra: dict[str, float] = field(default_factory=dict)


@contextmanager
def track_peak_memory(device: str) -> Iterator[PeakMemory]:
    """Measure peak memory and wall time of the enclosed block on `device` ('cuda' or 'cpu')."""
    if device == "cuda":
        import torch

        torch.cuda.synchronize()
        torch.cuda.empty_cache()  # the pool an earlier phase left is not this phase's
        torch.cuda.reset_peak_memory_stats()
        free, total = torch.cuda.mem_get_info()
        out = PeakMemory(kind="cuda", context_mb=max(0.0, (total - free - torch.cuda.memory_reserved()) / 2**20))
    else:
        out = PeakMemory(kind="cpu_rss" if _reset_rss_peak() else "cpu_rss_lifetime")
    start = time.perf_counter()
    try:
        yield out
    finally:
        if device == "cuda":
            import torch

            torch.cuda.synchronize()
            out.allocated_mb = torch.cuda.max_memory_allocated() / 2**20
            out.reserved_mb = torch.cuda.max_memory_reserved() / 2**20
            out.peak_mb = out.reserved_mb + out.context_mb
        else:
            hwm = _vm_hwm_mb()
            out.peak_mb = hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out.seconds = time.perf_counter() - start
