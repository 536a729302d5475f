"""The science: outcomes, analyses, published patterns, validation, calibration, figures.

Statistics are computed as the cited studies compute them; the published patterns are in
``targets.toml``.
"""
