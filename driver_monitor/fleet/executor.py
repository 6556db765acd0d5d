"""Where fleet work runs: in this process (--jobs 1), a local process pool (--jobs N), or Ray
(--ray ADDRESS joins a cluster, --ray local starts a local instance; `pip install
driver-monitor[fleet]`). The work and its results are the same everywhere; only the place differs.

Two shapes of work:
  workers   one long-lived worker per process / Ray actor, built once from a picklable factory
            and fed items (extraction: the worker owns the tracker's process and settings)
  tasks     a pure function over items (sweeps: configs over feature tables); on Ray each item
            is a task, its table passed through the object store

    engine = Engine(jobs=4)                  # or Engine(ray="local"), Engine(ray="10.0.0.1:6379")
    for result in engine.run_workers(partial(Worker, config), items, progress=print): ...
    for result in engine.run_tasks(function, items): ...

Results come in completion order. A worker's `progress(n)` calls (frames done) reach the
caller's `progress` from every process (not from Ray actors: their results say it).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue as queue_module
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

from driver_monitor.errors import InputError

RAY_EXTRA = "pip install 'driver-monitor[fleet]'"
LOCAL = "local"
# A pool never holds more pending items than this per worker: results stream back while the
# rest wait, and an interrupted run has not queued everything.
_PENDING_PER_WORKER = 2


class Worker(Protocol):
    def run(self, item: Any) -> Any: ...


WorkerFactory = Callable[[Callable[[int], None] | None], Worker]  # (progress) -> worker


# Each local worker is a process with its own face model and runtime: far fewer than this fit a
# machine. Past a C int, the pool's semaphore raised an OverflowError traceback.
MAX_JOBS = 1024


@dataclass(frozen=True)
class Engine:
    jobs: int = 1
    ray: str | None = None  # None: local; "local": a local Ray instance; else a cluster address

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise InputError(f"--jobs must be at least 1 (got {self.jobs})")
        if self.jobs > MAX_JOBS:
            raise InputError(f"--jobs must be at most {MAX_JOBS} (got {self.jobs})")

    @property
    def describe(self) -> str:
        if self.ray is not None:
            return f"Ray ({'local instance' if self.ray == LOCAL else self.ray}, {self.workers} workers)"
        return "this process" if self.jobs == 1 else f"{self.jobs} local processes"

    @property
    def workers(self) -> int:
        if self.ray is None:
            return self.jobs
        ray = self._ray()
        return self.jobs if self.jobs > 1 else max(1, int(ray.cluster_resources().get("CPU", 1)))

    # ---- long-lived workers ------------------------------------------------------------------
    def run_workers(self, factory: WorkerFactory, items: Iterable[Any],
                    progress: Callable[[int], None] | None = None) -> Iterator[Any]:
        items = list(items)
        if not items:
            return iter(())
        if self.ray is not None:
            return self._ray_workers(factory, items)
        if self.jobs == 1:
            worker = factory(progress)
            return (worker.run(item) for item in items)
        return self._pool(items, _init_worker, (factory,), _run_in_worker, progress)

    def _ray_workers(self, factory: WorkerFactory, items: list[Any]) -> Iterator[Any]:
        ray = self._ray()
        from ray.util import ActorPool

        actor = ray.remote(num_cpus=1)(RayWorker)
        actors = [actor.remote(factory) for _ in range(min(self.workers, len(items)))]
        try:
            yield from ActorPool(actors).map_unordered(lambda a, item: a.run.remote(item), items)
        finally:
            for a in actors:
                ray.kill(a)

    # ---- tasks -------------------------------------------------------------------------------
    def run_tasks(self, function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """function(item) for every item; on Ray `function` must be importable by the workers
        and an item's ray ObjectRefs (nested in it) are resolved by the function itself."""
        items = list(items)
        if not items:
            return iter(())
        if self.ray is not None:
            return self._ray_tasks(function, items)
        if self.jobs == 1:
            return (function(item) for item in items)
        return self._pool(items, None, (), function, None)

    def _ray_tasks(self, function: Callable[[Any], Any], items: list[Any]) -> Iterator[Any]:
        ray = self._ray()
        task = ray.remote(num_cpus=1)(function)
        pending: list[Any] = []
        todo = iter(items)
        limit = self.workers * _PENDING_PER_WORKER
        for item in todo:
            pending.append(task.remote(item))
            if len(pending) >= limit:
                break
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(task.remote(nxt))

    def put(self, value: Any) -> Any:
        """A value for many tasks: an object-store reference on Ray, the value itself locally."""
        return self._ray().put(value) if self.ray is not None else value

    # ---- the pool ----------------------------------------------------------------------------
    def _pool(self, items: list[Any], initializer: Callable[..., None] | None, initargs: tuple[Any, ...],
              function: Callable[[Any], Any], progress: Callable[[int], None] | None) -> Iterator[Any]:
        # spawn, not fork: a forked MediaPipe / onnxruntime / Arrow runtime is not safe.
        ctx = multiprocessing.get_context("spawn")
        messages = ctx.Queue() if progress is not None else None
        init_args = (*initargs, messages) if initializer is not None else ()
        with ProcessPoolExecutor(self.jobs, mp_context=ctx, initializer=initializer, initargs=init_args) as pool:
            pending: set[Future[Any]] = set()
            todo = iter(items)
            try:
                for item in todo:
                    pending.add(pool.submit(function, item))
                    if len(pending) >= self.jobs * _PENDING_PER_WORKER:
                        break
                while pending:
                    done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    _drain(messages, progress)
                    for future in done:
                        yield future.result()
                        nxt = next(todo, None)
                        if nxt is not None:
                            pending.add(pool.submit(function, nxt))
                _drain(messages, progress)
            except KeyboardInterrupt:
                # SIGTERM (cli.py takes it as Ctrl-C) reaches this process alone, where Ctrl-C
                # reaches the workers too: without this the pool's exit waited for each worker
                # to finish the drive it was on (minutes of extraction) before the command
                # stopped. (ProcessPoolExecutor has no public way to end its workers before 3.14.)
                for process in list((getattr(pool, "_processes", None) or {}).values()):
                    process.terminate()
                raise
            finally:
                for future in pending:
                    future.cancel()

    def _ray(self) -> Any:
        try:
            import ray
        except ImportError:
            raise InputError(f"--ray needs Ray, an optional extra: {RAY_EXTRA}") from None
        if not ray.is_initialized():
            try:
                # Ray's own INFO / WARNING lines (start-up, auth token) are not ours to print.
                quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
                if self.ray == LOCAL:
                    # address "local": a new instance even where `ray start` left a cluster
                    # running (ray.init() without an address would join that one).
                    ray.init(address=LOCAL, num_cpus=self.jobs if self.jobs > 1 else None, include_dashboard=False,
                             **quiet)
                else:
                    ray.init(address=self.ray, **quiet)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise InputError(f"--ray {self.ray}: cannot reach a Ray cluster ({str(exc).strip().splitlines()[0]})") from None
        return ray


class RayWorker:
    """A Ray actor around one worker (its factory runs once, in the actor's process)."""

    def __init__(self, factory: WorkerFactory):
        self.worker = factory(None)

    def run(self, item: Any) -> Any:
        return self.worker.run(item)


_WORKER: Worker | None = None


def _init_worker(factory: WorkerFactory, messages: Any) -> None:
    global _WORKER
    report = (lambda n: messages.put(n)) if messages is not None else None
    _WORKER = factory(report)


def _run_in_worker(item: Any) -> Any:
    assert _WORKER is not None, "the pool's initializer builds the worker"
    return _WORKER.run(item)


def _drain(messages: Any, progress: Callable[[int], None] | None) -> None:
    if messages is None or progress is None:
        return
    while True:
        try:
            progress(messages.get_nowait())
        except queue_module.Empty:
            return


def cpu_count() -> int:
    """Cores this process may use (the affinity mask: a container's share, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
