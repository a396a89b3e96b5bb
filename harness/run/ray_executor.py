"""The matrix on a Ray cluster: every cell not in the cache runs on a Ray worker.

On the CPU each cell is a task in a fresh worker process (`max_calls=1`: a process's resident memory is
all it ever held, so a reused worker would charge a cell for the ones before it), `cpus_per_cell` CPUs each.
On CUDA each GPU gets one long-lived actor that keeps the model, tokenizer and indexes loaded across its
cells (a fresh worker per cell would re-import, re-initialise CUDA and reload the model every time; the
allocator measures each phase itself). The driver (this process) decides which cells are ready, and is
the only writer of the cell cache and the run folder.
A cell that reuses another's adapter (hybrid on lora's) is submitted only once that cell's record is
back, with its row, exactly as the local executor hands it over: no adapter is trained twice.

What the workers need: the harness package and its dependencies installed on every node, and one path
that every node reads and writes for HARNESS_CACHE_DIR (converted models, adapters) and for a local
--model folder. Scenarios travel with the task (they are loaded into the run options).
"""

from __future__ import annotations

import dataclasses
import os
import socket
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.models import DeviceInfo, cache_dir, resolve_device
from harness.run.compute import base_row, compute_cell, dep_rows, record
from harness.run.context import RunContext
from harness.run.options import RunOptions
from harness.run.plan import Cell
from harness.run.progress import Progress

INSTALL = 'pip install "harness[ray]"'
# environment the workers must share with the driver (a worker started by `ray start` has its own)
WORKER_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HOME",
              "RAGAS_DO_NOT_TRACK", "TOKENIZERS_PARALLELISM")


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise HarnessError(f"--executor ray: Ray is not installed; install it with: {INSTALL}") from None
    return ray


def _node_label(hostname: str, ip: str, node_id: str) -> str:
    return f"{hostname} ({ip}, ray node {node_id[:8]})"


def _here() -> dict[str, Any]:
    """This worker's node, for rows and the manifest."""
    import ray

    ctx = ray.get_runtime_context()
    ip = ray.util.get_node_ip_address()
    return {"node": _node_label(socket.gethostname(), ip, ctx.get_node_id()), "node_id": ctx.get_node_id(),
            "hostname": socket.gethostname(), "ip": ip}


def _probe(paths: list[str], writable: str) -> dict[str, Any]:
    """Runs on one node: who it is, its device, and which of the run's shared paths it cannot use."""
    missing = [p for p in paths if not os.path.exists(p)]
    try:
        Path(writable).mkdir(parents=True, exist_ok=True)
        probe = Path(writable) / f".probe-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        missing.append(f"{writable} (not writable: {exc.strerror})")
    return {**_here(), "device": dataclasses.asdict(resolve_device("auto")), "missing": missing}


_CONTEXT: dict[str, Any] = {}  # a worker process keeps one run's loaded models between its tasks


def _work(cell: Cell, opts: RunOptions, deps: dict[str, dict[str, Any]], cache: str) -> dict[str, Any]:
    """Runs on a worker: one cell, with the worker's own model cache; returns the record, stores nothing.
    `cache` is the driver's HARNESS_CACHE_DIR: adapters go where the driver and the other nodes look."""
    import ray
    import torch

    os.environ["HARNESS_CACHE_DIR"] = cache

    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")
    if opts.device.device == "cpu" and cpus:
        torch.set_num_threads(max(1, int(cpus)))  # cells side by side on a node share its cores, not fight for them
    key = repr((opts.model, opts.device, opts.judge))
    if key not in _CONTEXT:
        _CONTEXT.clear()
        _CONTEXT[key] = RunContext(opts.model, opts.device, Progress(False), opts.judge)
        # computed as the plan says (device kind, dtype), named as this node's own CPU model or GPU in its rows
        _CONTEXT["device"] = dataclasses.replace(opts.device, name=resolve_device(opts.device.device).name)
    return compute_cell(cell, opts, _CONTEXT[key], deps, _here()["node"], _CONTEXT["device"])


class _CellActor:
    """One per GPU: a worker process that keeps one run's loaded models between its cells."""

    def __init__(self, cache: str) -> None:
        os.environ["HARNESS_CACHE_DIR"] = cache

    def work(self, cell: Cell, opts: RunOptions, deps: dict[str, dict[str, Any]], cache: str) -> dict[str, Any]:
        return _work(cell, opts, deps, cache)


def _why(exc: BaseException) -> str:
    """One line for a cell whose task never returned (its worker died, its node was lost, it was OOM-killed)."""
    cause = getattr(exc, "cause", None)
    name = f"{type(exc).__name__}({type(cause).__name__})" if cause is not None else type(exc).__name__
    text = str(cause if cause is not None else exc).strip().splitlines()
    return f"{name}: {text[0] if text else ''}"


def _reachable(address: str, timeout: float = 5.0) -> str | None:
    """Why a HOST:PORT address cannot be reached, or None; checked first because ray.init retries an unreachable
    GCS for many minutes (13 min 42 s measured here for 127.0.0.1:1) before it gives up."""
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return None  # "auto", "local": Ray resolves those itself, quickly
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        return f"nothing answers at {host}:{port} ({exc.strerror or type(exc).__name__})"
    return None


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None, cpus_per_cell: float = 1, actors: bool | None = None) -> None:
        ray = _ray()
        self.cpus_per_cell = cpus_per_cell
        self.actors = actors  # None: one long-lived actor per GPU on CUDA, a fresh task per cell on the CPU
        self.address = address or os.environ.get("HARNESS_RAY_ADDRESS") or None  # None: RAY_ADDRESS, else local
        self.nodes: list[dict[str, Any]] = []
        if not ray.is_initialized():
            env = {k: os.environ[k] for k in WORKER_ENV if k in os.environ}
            where = self.address or os.environ.get("RAY_ADDRESS") or "a local instance"
            unreachable = _reachable(where)
            if unreachable:
                raise HarnessError(f"--ray-address {where}: cannot connect to Ray ({unreachable})")
            try:
                ray.init(address=self.address, include_dashboard=False, logging_level="WARNING",
                         runtime_env={"env_vars": env})
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise HarnessError(f"--ray-address {where}: cannot connect to Ray "
                                   f"({str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__})") from None
        self.gcs_address = ray.get_runtime_context().gcs_address
        self._mode: str | None = None

    def _alive(self) -> list[dict[str, Any]]:
        return [n for n in _ray().nodes() if n.get("Alive")]

    def device(self, arg: str) -> DeviceInfo:
        """CUDA when the cluster has GPUs (asked of a GPU worker), else the CPU."""
        ray = _ray()
        gpus = ray.cluster_resources().get("GPU", 0)
        if arg == "cuda" and not gpus:
            raise HarnessError("--device cuda: the Ray cluster has no GPU (ray.cluster_resources() lists none)")
        if arg != "cpu" and gpus:
            found = ray.get(ray.remote(num_gpus=1)(lambda: dataclasses.asdict(resolve_device("cuda"))).remote())
            return DeviceInfo(**found)
        return resolve_device("cpu")

    def check(self, opts: RunOptions) -> None:
        """Every node can read the model folder and write the cache, and has what a cell asks for."""
        ray = _ray()
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        paths = [opts.model.path] if Path(opts.model.path).exists() else []
        cache = str(cache_dir().resolve())
        probe = ray.remote(_probe)
        nodes = self._alive()
        gpu = opts.device.device == "cuda"
        refs = [probe.options(num_cpus=0, num_gpus=1 if gpu and n["Resources"].get("GPU") else 0,
                              scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote(paths, cache)
                for n in nodes]
        self.nodes = []
        for n, found in zip(nodes, ray.get(refs)):
            res = n["Resources"]
            self.nodes.append({**{k: found[k] for k in ("node", "node_id", "hostname", "ip", "device")},
                               "cpus": res.get("CPU", 0), "gpus": res.get("GPU", 0)})
            if found["missing"]:
                raise HarnessError(f"ray node {found['node']}: cannot use {found['missing'][0]}: the model folder and "
                                   "HARNESS_CACHE_DIR must be on a path every node shares")
        need = "GPU" if gpu else "CPU"
        per_cell = 1 if gpu else self.cpus_per_cell
        if not any(n["Resources"].get(need, 0) >= per_cell for n in nodes):
            raise HarnessError(f"--executor ray: no node of the cluster has {per_cell:g} {need} for a cell")

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.gcs_address, "cpus_per_cell": self.cpus_per_cell,
                "cell_process": self._mode or "not started", "nodes": self.nodes}

    def run(self, todo: list[Cell], opts: RunOptions, done: dict[str, dict[str, Any]], finished: Any,
            progress: Progress) -> None:
        ray = _ray()
        gpu = opts.device.device == "cuda"
        use_actors = self.actors if self.actors is not None else gpu
        cache = str(cache_dir().resolve())
        cpus = 1 if gpu else self.cpus_per_cell
        if use_actors:
            n = max(1, int(ray.cluster_resources().get("GPU", 0))) if gpu else max(
                1, int(ray.cluster_resources().get("CPU", 1) // cpus))
            make = ray.remote(num_gpus=1 if gpu else 0, num_cpus=cpus, max_restarts=0)(_CellActor)
            idle = [make.remote(cache) for _ in range(n)]
            self._mode = f"one long-lived actor per {'GPU' if gpu else 'worker'} ({n})"
        else:
            # max_retries=0: a cell whose worker died is failed with the reason; the next run retries it
            task = ray.remote(num_gpus=0, num_cpus=cpus, max_retries=0, max_calls=1)(_work)  # max_calls: decorator only
            self._mode = "a fresh worker process per cell"
        waiting, running = list(todo), {}
        while waiting or running:
            for cell in [c for c in waiting if all(k in done for k in c.deps.values())]:
                if use_actors and not idle:
                    break
                waiting.remove(cell)
                deps = dep_rows(cell, done)
                if use_actors:
                    actor = idle.pop()
                    running[actor.work.remote(cell, opts, deps, cache)] = (cell, actor)
                else:
                    running[task.remote(cell, opts, deps, cache)] = (cell, None)
            if not running:  # cannot happen with a plan's order; never spin
                raise RuntimeError(f"cells wait on dependencies that no task computes: {waiting}")
            progress.running(f"{len(running)} running: " + ", ".join(f"{c.scenario}/{c.strategy}"
                                                                     for c, _ in running.values()))
            try:
                ready, _ = ray.wait(list(running), num_returns=1)
            except BaseException:
                # the run is being stopped: its running cells are cancelled (their workers killed), not left
                # computing on the cluster after the driver is gone
                for ref, (_, actor) in running.items():
                    if actor is None:
                        ray.cancel(ref, force=True)
                    else:
                        ray.kill(actor)
                raise
            for ref in ready:
                cell, actor = running.pop(ref)
                try:
                    rec = ray.get(ref)
                    if actor is not None:
                        idle.append(actor)
                except ray.exceptions.RayError as exc:
                    row = base_row(cell, opts, "unknown (the task never returned)")
                    rec = record(cell, {**row, "status": "failed", "error": _why(exc)}, [])
                    if actor is not None:  # the actor died with its cell: a new one takes its place
                        idle.append(make.remote(cache))
                finished(cell, rec)
