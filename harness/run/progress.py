"""Progress bars (tqdm): one over cells, and a transient one over training steps or answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Progress:
    """Implements `harness.cell.Progress` for a terminal; disabled, it draws nothing (tests, --quiet)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.outer: Any = None

    def cells(self, total: int, initial: int = 0) -> Any:
        """The bar over the run's cells; `initial` were served from the cache (they do not count in the ETA)."""
        from tqdm.auto import tqdm

        self.outer = tqdm(total=total, initial=initial, desc="cells", unit="cell", disable=not self.enabled,
                          position=0)
        return self.outer

    def running(self, what: str) -> None:
        """What is being computed now (one cell here, or the cells in flight on a cluster)."""
        if self.outer is not None:
            self.outer.set_description(what)

    def _inner(self, total: int, desc: str, unit: str) -> Any:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, leave=False, disable=not self.enabled, position=1)

    def step_callback(self, total: int, desc: str) -> Callable[[int, float], None]:
        bar = self._inner(total, desc, "step")

        def on_step(step: int, loss: float) -> None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")
            if step >= total:
                bar.close()

        return on_step

    def answer_callback(self, total: int, desc: str) -> Callable[[int], None]:
        bar = self._inner(total, f"answers ({desc})", "item")

        def on_batch(n: int) -> None:
            bar.update(n)
            if bar.n >= total:
                bar.close()

        return on_batch
