"""Shared test configuration: one derandomised hypothesis profile for every property test.

``derandomize=True`` seeds hypothesis from each test's own source, so every run draws the same
examples, and ``database=None`` keeps a replay database from changing that. ``deadline=None``
because the first call into a kernel may still be loading compiled code from the Numba cache.
``HYPOTHESIS_PROFILE=thorough`` runs many more (still fixed) examples when hunting for bugs.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow],
}

settings.register_profile("alliance", max_examples=25, **_COMMON)
settings.register_profile("thorough", max_examples=1000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "alliance"))
