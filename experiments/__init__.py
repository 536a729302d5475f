"""Experiments: sweep specs and designs, the runner, the results store, analyses, validation."""
