# Every target creates the virtualenv on first use, so a fresh machine needs only Python 3.11.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help demo test soak check lint format types bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP) ## export every conversation from the bundled simulator to demo/tickets.csv
	$(BIN)/python -m gorgias_sim.demo

test: $(STAMP) ## run the test suite
	$(BIN)/pytest -q

soak: $(STAMP) ## the long reliability run: many kills, more faults, bigger data (not in check)
	$(BIN)/python -m tests.reliability.soak
	GORGIAS_HOSTILE_ALL=1 $(BIN)/pytest -q tests/hostile

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check gorgias_export gorgias_sim tests
	$(BIN)/ruff format --check gorgias_export gorgias_sim tests

format: $(STAMP) ## apply ruff formatting and safe fixes
	$(BIN)/ruff format gorgias_export gorgias_sim tests
	$(BIN)/ruff check --fix gorgias_export gorgias_sim tests

types: $(STAMP) ## strict mypy over the package
	$(BIN)/mypy

check: lint types test ## what CI runs: lint, format, types, tests

bench: $(STAMP) ## measure requests, rate, 429s, CPU and memory against the simulator (minutes)
	$(BIN)/python -m tests.benchmark

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo
