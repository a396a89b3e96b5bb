"""Strategies that fail on purpose, for the Ray executor's tests: imported by the test (the driver plans
with them) and by every Ray worker of the test's cluster (`worker_process_setup_hook`)."""

from __future__ import annotations

import os

from harness.cell import Strategy
from harness.strategies import STRATEGIES
from harness.strategies.base import register

NAMES = ("boom", "crash")


def _raises(task: object) -> list:
    raise RuntimeError("simulated failure inside the cell")


def _dies(task: object) -> list:
    os._exit(1)  # the worker process dies mid-cell, as an OOM kill or a preemption would end it


def install() -> None:
    if "boom" not in STRATEGIES:
        register(Strategy("boom", "raises while building its examples", train=True, examples=_raises))
    if "crash" not in STRATEGIES:
        register(Strategy("crash", "kills its worker while building its examples", train=True, examples=_dies))


def uninstall() -> None:
    for name in NAMES:
        STRATEGIES._items.pop(name, None)
