"""Imported once by the local pool's fork server: load the model so that workers fork ready.

Every worker of :func:`experiments.runner.pool.process_pool` is forked from a server process that
has imported this module, and with it the chunk code, pandas and pyarrow, and loaded the kernels
from Numba's cache (:func:`experiments.runner.chunks.warm_up`). A worker then starts in milliseconds
instead of the second a fresh interpreter needs. Nothing here starts a thread, so forking stays
safe.

It also sets how the workers' memory behaves (:func:`experiments.runner.chunks.keep_memory`): a
chunk
allocates the same large arrays as the one before, and handing them back to the system only to
fault them in again costs more than the chunk's summary table.
"""

from experiments.runner.chunks import prepare_worker

prepare_worker()
