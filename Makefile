# The two commands of the README's quick start are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
export DBT_PROFILES_DIR := $(CURDIR)
export SYNCGOV_WAREHOUSE ?= $(CURDIR)/.warehouse/syncgov.duckdb
export PYTHONDONTWRITEBYTECODE := 1
LINT_WAREHOUSE := $(CURDIR)/.warehouse/lint.duckdb

.PHONY: help install demo test test-fast lint bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/syncgov: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
	uv sync --frozen --python python3.11
	@touch $@

install: $(BIN)/syncgov  ## create .venv with the locked dependencies

demo: install  ## simulate a landing zone with every fault, build the warehouse, show what happened
	$(BIN)/syncgov demo $(DEMO_ARGS)

test: install  ## every test: unit, property, end-to-end on real dbt + DuckDB
	$(BIN)/syncgov generate --check
	$(BIN)/syncgov lint --dbt-parse
	$(BIN)/pytest -n 2 --dist loadfile --durations=25

test-fast: install  ## the fast tests only (no real dbt builds)
	$(BIN)/pytest -m "not slow"

lint: install  ## ruff, sqlfluff, and the governance registry (as of today)
	$(BIN)/syncgov lint --dbt-parse
	$(BIN)/syncgov generate --check
	$(BIN)/ruff check .
	@# the dbt templater compiles every model, and some read seeds and introspect the columns of
	@# staging and state while compiling: lint against a small warehouse of its own that holds
	@# them, so the linted SQL is the SQL a real build runs (about half a minute); the history
	@# models are built too, so their incremental SQL is the one linted
	@mkdir -p .warehouse
	$(BIN)/syncgov simulate --warehouse $(LINT_WAREHOUSE) --replace --events 2000 --entities 100 --batches 2 -q
	SYNCGOV_WAREHOUSE=$(LINT_WAREHOUSE) $(BIN)/dbt --quiet seed --target-path target/lint
	SYNCGOV_WAREHOUSE=$(LINT_WAREHOUSE) $(BIN)/dbt --quiet run --select staging state history --target-path target/lint
	SYNCGOV_WAREHOUSE=$(LINT_WAREHOUSE) $(BIN)/sqlfluff lint models tests/dbt

bench: install  ## benchmarks; BENCH_SCALE=10 for 10x the default sizes
	$(BIN)/python -m bench.run

clean:  ## remove the warehouse, dbt artifacts and caches
	rm -rf .warehouse target logs .pytest_cache .ruff_cache
