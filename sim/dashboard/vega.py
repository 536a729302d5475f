"""A Vega-Lite chart widget that updates its data in place.

Solara's own Vega-Lite widget (behind ``FigureAltair``) waits 100 ms after every change, then
parses, compiles and draws the whole chart again: with four charts per step that is most of a
200 ms budget. :class:`VegaChart` keeps the chart's structure (``spec``) apart from its data
(``datasets``, by name): a step changes only ``datasets``, and the browser feeds the new rows to
the running Vega view (``view.change``), which redraws in a few milliseconds. The spec is
embedded again only when it changes (another scenario, a resized chart).

:func:`split_data` turns a spec with inline ``{"values": [...]}`` data into that pair.
"""

from __future__ import annotations

import copy
from typing import Any

import ipyvuetify as v
import traitlets

_TEMPLATE = """
<template>
  <div ref="plot"></div>
</template>
<script>
module.exports = {
  mounted() {
    this.vegaReady = this.loadVega();
    this.redraw();
  },
  watch: {
    spec() { this.redraw(); },
    datasets() { this.redraw(); },
  },
  destroyed() {
    if (this.view) { this.view.finalize(); }
  },
  unmounted() {
    this.$options.destroyed.call(this);
  },
  methods: {
    redraw() {
      /* Changes may come faster than drawing; draw the latest, one draw at a time. */
      this.dirty = true;
      if (!this.drawing) {
        this.drawing = (async () => {
          while (this.dirty) {
            this.dirty = false;
            await this.draw();
          }
          this.drawing = null;
        })();
      }
    },
    async draw() {
      await this.vegaReady;
      const [vega, vegaEmbed] = await this.modules(['vega', 'vega-embed']);
      const specText = JSON.stringify(this.spec);
      if (!this.view || specText !== this.specText) {
        if (this.view) { this.view.finalize(); }
        this.specText = specText;
        const embedded = await vegaEmbed(this.$refs.plot, JSON.parse(specText),
                                         {renderer: 'svg', actions: false});
        this.view = embedded.view;
      }
      /* Vega marks the rows it is given; hand it a copy, or marking the component's own
         (reactive) rows would trigger the watcher, and so another draw, forever. */
      const datasets = JSON.parse(JSON.stringify(this.datasets || {}));
      for (const [name, values] of Object.entries(datasets)) {
        this.view.change(name, vega.changeset().remove(() => true).insert(values));
      }
      await this.view.runAsync();
    },
    modules(names) {
      return new Promise((resolve, reject) => {
        requirejs(names, (...modules) => resolve(modules), reject);
      });
    },
    getCdn() {
      return (window.solara && window.solara.cdn) || '/_solara/cdn';
    },
    loadRequire() {
      if (window.requirejs) { return Promise.resolve(); }
      return new Promise((resolve, reject) => {
        const script = document.createElement('script');
        script.src = `${this.getCdn()}/requirejs@2.3.6/require.js`;
        script.onload = resolve;
        script.onerror = reject;
        document.head.appendChild(script);
      });
    },
    async loadVega() {
      /* The same files and module names as Solara's own Vega-Lite widget. */
      await this.loadRequire();
      require.config({
        map: {
          '*': {
            'vega': `${this.getCdn()}/vega@5/build/vega.min.js`,
            'vega-lite': `${this.getCdn()}/vega-lite@5/build/vega-lite.min.js`,
            'vega-embed': `${this.getCdn()}/vega-embed@6/build/vega-embed.min.js`,
          },
        },
      });
      await this.modules(['vega', 'vega-lite', 'vega-embed']);
    },
  },
};
</script>
"""


class VegaChart(v.VuetifyTemplate):
    """A Vega-Lite chart whose rows (``datasets``, by name) update without a new embed."""

    template = traitlets.Unicode(_TEMPLATE).tag(sync=True)
    spec = traitlets.Dict().tag(sync=True)
    # Not "data": that name is taken in a Vue component.
    datasets = traitlets.Dict().tag(sync=True)


def split_data(spec: dict[str, Any]) -> dict[str, Any]:
    """Return ``{"spec": ..., "datasets": ...}``: inline data replaced by named datasets.

    Every ``"data": {"values": rows}`` in ``spec`` becomes ``"data": {"name": "rows_<i>"}``
    (numbered in traversal order, so the same chart gets the same names), and ``rows`` goes to
    ``datasets["rows_<i>"]``. Two steps of one chart thus differ in ``datasets`` only.
    """
    spec = copy.copy(spec)
    data: dict[str, list[dict[str, Any]]] = {}

    def visit(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "data" and isinstance(value, dict) and "values" in value:
                    name = f"rows_{len(data)}"  # not data_<i>: Vega-Lite names its own so
                    data[name] = value["values"]
                    out[key] = {"name": name}
                else:
                    out[key] = visit(value)
            return out
        if isinstance(node, list):
            return [visit(item) for item in node]
        return node

    return {"spec": visit(spec), "datasets": data}
