"""The working-alliance model: parameters, random numbers, kernels, Mesa model, batch path, CLI.

Where to look first: :mod:`sim.kernels` (the session kernel, steps 1-12 of docs/MODEL.md),
:mod:`sim.model` (``AllianceModel``, the Mesa view), :mod:`sim.batch` (``simulate``, the batch
path used by sweeps) and :mod:`sim.params` (every parameter with its bounds and source).
"""
