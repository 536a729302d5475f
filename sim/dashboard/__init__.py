"""The teaching dashboard (``alliance dashboard``): model, charts, components, assets, server.

:mod:`sim.dashboard.app` is the Solara page built on Mesa's ``SolaraViz``; the modules here are its
parts: :mod:`~sim.dashboard.model` (the clinic with one dyad up close and a compared pair),
:mod:`~sim.dashboard.charts` (Vega-Lite specs from panel rows), :mod:`~sim.dashboard.components`
(the Solara components), :mod:`~sim.dashboard.assets` (the page's front-end files, for machines
without access to a CDN) and :mod:`~sim.dashboard.server` (binding and serving).
"""
