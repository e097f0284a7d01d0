# hubmine: `make demo` runs the whole pipeline offline on a bundled sample; `make run` crawls the real Hub,
# analyzes and reports; `make test` runs the test suite.
#
# One virtual environment, .venv: `make demo` and `make run` install the core (no torch, no Ray);
# `make setup` adds what the tests need (the dev, evaluate, ray and notebooks extras).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORE := $(VENV)/.core-installed
STAMP := $(VENV)/.installed
NOTEBOOKS := $(VENV)/.notebooks-installed

.PHONY: core setup demo run recrawl test test-fast lint bench crawl analyze report lab notebooks-html clean

core: $(CORE)

setup: $(STAMP)

$(CORE): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(CORE)

$(STAMP): $(CORE)
	$(BIN)/pip install --quiet -e '.[dev,evaluate,ray,notebooks]'
	touch $(STAMP)

$(NOTEBOOKS): $(CORE)
	$(BIN)/pip install --quiet -e '.[notebooks]'
	touch $(NOTEBOOKS)

# The whole pipeline offline: the Hub simulator on the bundled sample (demo/README.md) and two tiny models;
# the snapshots go to demo/data/, the report to demo/report/.
demo: core
	$(BIN)/python -m demo

# Exit status 3 means the crawl finished with some models recorded as failed: analyze it all the same.
run: core
	$(BIN)/hubmine crawl --limit 1000 || [ $$? -eq 3 ]
	$(BIN)/hubmine analyze
	$(BIN)/hubmine report

# Unattended runs (cron, the systemd timer and the CI workflow under deploy/): a crawl that reuses every
# card whose sha did not change, its analysis, the trends across snapshots, and the report (which shows
# them). Each step takes the data directory's lock, so overlapping runs stop at once.
RECRAWL_ARGS ?= --limit 1000
recrawl: core
	$(BIN)/hubmine crawl $(RECRAWL_ARGS) || [ $$? -eq 3 ]
	$(BIN)/hubmine analyze
	$(BIN)/hubmine trends
	$(BIN)/hubmine report

crawl: core
	$(BIN)/hubmine crawl $(ARGS)

analyze: core
	$(BIN)/hubmine analyze $(ARGS)

report: core
	$(BIN)/hubmine report $(ARGS)

# The notebooks in JupyterLab, on data/ (HUBMINE_DATA_DIR=$$PWD/demo/data make lab: on the demo's).
lab: $(NOTEBOOKS)
	$(BIN)/jupyter lab notebooks/

# The notebooks run on the demo's data and rendered to HTML under docs/notebooks/ (running the demo first
# when it has not run). Jupyter runs each in notebooks/, hence the data directory relative to it.
notebooks-html: $(NOTEBOOKS)
	test -d demo/data/snapshots || $(MAKE) demo
	HUBMINE_DATA_DIR=../demo/data $(BIN)/jupyter nbconvert --to html --execute --output-dir docs/notebooks \
		notebooks/*.ipynb
	@echo "notebooks rendered: docs/notebooks/*.html"

# Tests run in parallel (pytest-xdist): most wait on servers and child processes, so more workers than cores
# pay off. Tests that share an expensive module fixture carry an xdist_group mark and stay on one worker.
TEST_WORKERS ?= 4
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup

test: setup
	$(PYTEST)

# The unit and integration tiers (tests/conftest.py), without the slow tests.
test-fast: setup
	$(PYTEST) -m "not e2e and not slow"

lint: setup
	$(BIN)/ruff check pipeline hubsim demo tests bench
	$(BIN)/ruff format --check pipeline hubsim demo tests bench

bench: setup
	$(BIN)/python -m bench.crawl_bench
	$(BIN)/python -m bench.parse_bench
	$(BIN)/python -m bench.analyze_bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
