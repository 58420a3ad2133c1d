# Relevo: `make run` starts everything on embedded defaults, `make test` runs the tests.
SHELL := /bin/bash
PYTHON311 ?= $(shell command -v python3.11 || ls -d $$(pyenv root 2>/dev/null)/versions/3.11.*/bin/python3.11 2>/dev/null | tail -n 1)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup run test bench lint format clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON311)" || { echo "Python 3.11 not found: install python3.11 (or pyenv install 3.11) and retry."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON311) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

run: setup
	$(BIN)/relevo kb sync
	$(BIN)/relevo up

test: setup
	$(BIN)/pytest -q

bench: setup
	$(BIN)/relevo kb eval
	$(BIN)/python bench/kb_bench.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf data models .pytest_cache .ruff_cache .mypy_cache
