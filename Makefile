# hubmine: `make run` crawls, analyzes and reports; `make test` runs the test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run recrawl test test-fast lint bench crawl analyze report clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,evaluate]'
	touch $(STAMP)

# Exit status 3 means the crawl finished with some models recorded as failed: analyze it all the same.
run: setup
	$(BIN)/hubmine crawl --limit 1000 || [ $$? -eq 3 ]
	$(BIN)/hubmine analyze
	$(BIN)/hubmine report

# Unattended runs (cron, the systemd timer and the CI workflow under deploy/): a crawl that reuses every
# card whose sha did not change, its analysis, the trends across snapshots, and the report (which shows
# them). Each step takes the data directory's lock, so overlapping runs stop at once.
RECRAWL_ARGS ?= --limit 1000
recrawl: setup
	$(BIN)/hubmine crawl $(RECRAWL_ARGS) || [ $$? -eq 3 ]
	$(BIN)/hubmine analyze
	$(BIN)/hubmine trends
	$(BIN)/hubmine report

crawl: setup
	$(BIN)/hubmine crawl $(ARGS)

analyze: setup
	$(BIN)/hubmine analyze $(ARGS)

report: setup
	$(BIN)/hubmine report $(ARGS)

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
	$(BIN)/ruff check pipeline hubsim tests bench
	$(BIN)/ruff format --check pipeline hubsim tests bench

bench: setup
	$(BIN)/python -m bench.crawl_bench
	$(BIN)/python -m bench.parse_bench
	$(BIN)/python -m bench.analyze_bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
