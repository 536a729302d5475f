"""Where a sweep's chunks run: serially, in a local process pool, or on a Dask cluster.

Every option is a :class:`concurrent.futures.Executor`, so the runner does not care which. Dask
is an optional extra (``pip install working-alliance[dask]``); with ``dask_scheduler`` the sweep
joins an existing cluster, e.g. one started on SLURM with dask-jobqueue (see the README).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import Executor
from typing import Any

from experiments.runner.pool import process_pool
from experiments.runner.sweep import SerialExecutor


class ExecutorError(ValueError):
    """An executor that cannot be started as asked."""


@contextlib.contextmanager
def open_executor(
    *,
    serial: bool = False,
    workers: int | None = None,
    dask_local: int | None = None,
    dask_scheduler: str | None = None,
) -> Iterator[Executor]:
    """Yield the executor asked for, and shut it down afterwards.

    Parameters
    ----------
    serial : bool
        Run chunks one after another in this process.
    workers : int, optional
        Size of the local process pool (default: all cores).
    dask_local : int, optional
        Start a Dask ``LocalCluster`` with this many single-threaded worker processes.
    dask_scheduler : str, optional
        Address of a running Dask scheduler to join (``tcp://host:8786``).
    """
    chosen = [serial, workers is not None, dask_local is not None, dask_scheduler is not None]
    if sum(chosen) > 1:
        raise ExecutorError("choose one of --serial, --workers, --dask-local, --dask-scheduler")
    if serial:
        yield SerialExecutor()
    elif dask_local is not None or dask_scheduler is not None:
        with _dask(dask_local, dask_scheduler) as executor:
            yield executor
    else:
        with process_pool(workers) as pool:
            yield pool


@contextlib.contextmanager
def _dask(n_workers: int | None, address: str | None) -> Iterator[Executor]:
    try:
        from dask.distributed import Client
    except ImportError:
        raise ExecutorError("Dask is not installed; pip install 'working-alliance[dask]'") from None
    if address is not None:
        try:
            client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(f"--dask-scheduler '{address}' cannot be reached ({exc})") from None
        except ValueError as exc:  # not an address at all
            raise ExecutorError(
                f"--dask-scheduler '{address}' is not a scheduler address, e.g. "
                f"tcp://host:8786 ({exc})"
            ) from None
        with client:
            yield client.get_executor(pure=False)
        return
    with local_cluster(n_workers) as cluster, Client(cluster) as client:
        yield client.get_executor(pure=False)


def local_cluster(n_workers: int | None) -> Any:
    """Start a Dask ``LocalCluster`` on this machine: single-threaded worker processes.

    Shared by sweeps and fits (``alliance sweep`` and ``alliance fit`` with ``--dask-local``). No
    dashboard, and the scheduler's HTTP endpoint on a free port: with the default (8787) a
    second cluster on the machine warns and moves.
    """
    from dask.distributed import LocalCluster

    return LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"},
        host="127.0.0.1",
    )
