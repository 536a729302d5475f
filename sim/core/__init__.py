"""The numeric core: everything that decides a simulation's numbers, and nothing else.

Parameters (:mod:`sim.core.params`), the field registry (:mod:`sim.core.fields`), counter-based
random numbers (:mod:`sim.core.rng`), the equations as phases (:mod:`sim.core.equations`), the
drivers generated from them (:mod:`sim.core.codegen`, :mod:`sim.core.lanes`,
:mod:`sim.core.kernels`), intake (:mod:`sim.core.state`) and the batch path
(:mod:`sim.core.batch`, ``simulate``). It imports nothing from the rest of the project; every
file here is part of the model's fingerprint (:mod:`sim.core.fingerprint`).
"""
