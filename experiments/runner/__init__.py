"""The runner: sweep specs and designs, executors, the results store, chunks, atomic files.

:func:`experiments.runner.sweep.run_sweep` runs a spec (:mod:`~experiments.runner.spec`) into a
store (:mod:`~experiments.runner.store`), chunk by chunk (:mod:`~experiments.runner.chunks`), on
an executor (:mod:`~experiments.runner.executors`). It knows nothing of the science.
"""
