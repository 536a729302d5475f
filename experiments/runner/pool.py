"""The local process pool: workers forked ready from a warm server, started before they are needed.

Light to import (the standard library only), so that a command can start the workers' fork server
(:func:`start_pool_server`) before its own heavy imports and set-up, and the server's warm-up
(importing the model, loading the kernels from Numba's cache) overlaps them.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import os
from concurrent.futures import ProcessPoolExecutor


def pool_context() -> multiprocessing.context.BaseContext:
    """Return how pool workers start: forked from a warm fork server, or spawned.

    Where the ``forkserver`` start method exists (Linux, macOS), workers fork from a server
    process that has imported :mod:`experiments.runner.preload` (the model, loaded kernels): they
    inherit no threads or locks of the driver, as with ``spawn``, and start in milliseconds.
    Elsewhere (Windows) they are spawned and warm up themselves. The global start method is not
    changed.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["experiments.runner.preload"])
    return context


def start_pool_server() -> None:
    """Start the workers' fork server now, so that it warms up while the driver does other work.

    The CLI calls this before its own imports and set-up; a pool opened later finds the server
    ready. Without a fork server (Windows) it does nothing.
    """
    context = pool_context()
    if context.get_start_method() == "forkserver":
        multiprocessing.forkserver.ensure_running()


def process_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """Return a local process pool (default: all cores) whose workers are started at once.

    See :func:`pool_context` for how they start. Forked workers inherit the server's warm-up;
    spawned ones run :func:`experiments.runner.chunks.prepare_worker` themselves, so even a worker's
    first chunk costs what the others cost.
    """
    from experiments.runner.chunks import (  # the driver's import stays light
        _started,
        prepare_worker,
    )

    size = workers or os.cpu_count() or 1
    context = pool_context()
    forked = context.get_start_method() == "forkserver"
    pool = ProcessPoolExecutor(
        max_workers=size, mp_context=context, initializer=None if forked else prepare_worker
    )
    for _ in range(size):
        pool.submit(_started)  # starts a worker per submit while none is idle
    return pool
