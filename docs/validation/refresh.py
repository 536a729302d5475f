"""Refresh the manual's validation report: run ``alliance validate`` and copy its report here.

``python docs/validation/refresh.py`` runs the validation at its full, documented size (20,000
patients per population, seed 2026) into ``results/validation`` and copies ``validation.md``,
``forest.png`` and ``distances.png`` into ``docs/validation/``. Run it, and
``alliance validate --update-docs`` for the table in docs/MODEL.md, after a change to the model.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from sim.cli.experiments import main

HERE = Path(__file__).resolve().parent
OUT = HERE.parents[1] / "results" / "validation"
REPORT = ("validation.md", "forest.png", "distances.png")

if __name__ == "__main__":
    status = main(["validate", "--out", str(OUT)])
    for name in REPORT:
        shutil.copyfile(OUT / name, HERE / name)
    print(f"copied {', '.join(REPORT)} into {HERE}")
    sys.exit(status)
