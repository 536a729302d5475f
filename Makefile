# The README's two commands: `make demo` and `make test`. Both create .venv when needed.
PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test docs bench lint clean clean-cache

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	# The dashboard's front-end files (JavaScript, CSS) from the npm registry, once, so that
	# neither the page nor its browser test needs a CDN at run time.
	$(BIN)/python -m sim.dashboard.assets
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/alliance study rupture_repair --out results/rupture_repair --replace

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(MAKE) docs
	$(BIN)/python -m pytest -n 2

# The manual, offline, every warning an error (docs/conf.py); tests/test_manual.py reads the build.
docs: $(STAMP)
	$(BIN)/sphinx-build -E -j 2 -W --keep-going -q -b html -d docs/_build/doctrees \
		-w docs/_build/warnings.txt docs docs/_build/html

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_kernel.py
	$(BIN)/python benchmarks/bench_runner.py
	$(BIN)/python benchmarks/bench_dashboard.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Compiled kernels are dropped by themselves when the model's sources change (sim/core/fingerprint.py);
# this removes them, and the generated drivers (sim/core/codegen.py), by hand.
clean-cache:
	find sim/core -name '*.nbi' -delete -o -name '*.nbc' -delete
	rm -rf "$${ALLIANCE_CACHE_DIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/working-alliance/drivers}"

clean: clean-cache
	rm -rf $(VENV) results .pytest_cache
