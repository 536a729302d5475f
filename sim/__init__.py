"""The working-alliance model, in layers (``CONTRIBUTING.md`` has the map).

- :mod:`sim.core` -- the numeric core: parameters, fields, random numbers, the equations as
  phases, the generated kernels (:mod:`sim.core.kernels`, steps 1-12 of docs/MODEL.md), intake and
  the batch path (:func:`sim.core.batch.simulate`, used by sweeps).
- :mod:`sim.model` -- ``AllianceModel``, the Mesa view of the core's arrays (with :mod:`agents`).
- :mod:`sim.dashboard` -- the teaching dashboard; :mod:`sim.cli` -- the ``alliance`` command.

The runner and the science live in :mod:`experiments` (:mod:`experiments.runner`,
:mod:`experiments.science`, :mod:`experiments.studies`).
"""
