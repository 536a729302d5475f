"""Imported once by the local pool's fork server: load the model so that workers fork ready.

Every worker of :func:`experiments.pool.process_pool` is forked from a server process that has
imported this module, and with it the chunk code, pandas and pyarrow, and loaded the kernels from
Numba's cache (:func:`experiments.chunks.warm_up`). A worker then starts in milliseconds instead
of the second a fresh interpreter needs. Nothing here starts a thread, so forking stays safe.
"""

from experiments.chunks import warm_up

warm_up()
