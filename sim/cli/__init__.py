"""The ``alliance`` command line: one package on top of every other layer.

:mod:`~sim.cli.model` holds the parser, error handling and the model's commands (``run``,
``params``, ``scenarios``); :mod:`~sim.cli.experiments` adds sweeps, summaries, studies,
validation and calibration; :mod:`~sim.cli.dashboard` serves the teaching dashboard.
"""
