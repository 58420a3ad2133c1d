# Relevo: `make run` starts everything on embedded defaults, `make test` runs the tests.
SHELL := /bin/bash
# The first interpreter of version $(1) that really runs: pyenv's versions, then the PATH
# (a pyenv shim on the PATH may exist and still refuse to run a version that is not selected).
find_python = $(shell for p in $$(ls -d $$(pyenv root 2>/dev/null)/versions/$(1).*/bin/python$(1) 2>/dev/null) $$(command -v python$(1)); do "$$p" -c 'import sys; assert sys.version_info[:2] == tuple(map(int, "$(1)".split(".")))' 2>/dev/null && echo "$$p" && break; done)
PYTHON311 ?= $(call find_python,3.11)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTHON310 ?= $(call find_python,3.10)
RASA_VENV := .venv-rasa
RASA_STAMP := $(RASA_VENV)/.installed-stamp

TELEGRAM_EMULATOR := tests/emulators/telegram
EMULATOR_STAMP := $(TELEGRAM_EMULATOR)/node_modules/.installed-stamp
CHROMIUM ?= /usr/bin/chromium

.PHONY: setup test-tools run test bench lint format clean

setup: $(STAMP) $(RASA_STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON311)" || { echo "Python 3.11 not found: install python3.11 (or pyenv install 3.11) and retry."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON311) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# Rasa Open Source 3.6 supports Python up to 3.10: it gets its own environment.
$(RASA_STAMP): nlu/requirements-rasa.txt nlu/constraints-rasa.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found: Rasa 3.6 needs it. Install python3.10 (or pyenv install 3.10) and retry."; exit 1; }
	@test -x $(RASA_VENV)/bin/python || $(PYTHON310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install --quiet --upgrade pip
	$(RASA_VENV)/bin/pip install --quiet -r nlu/requirements-rasa.txt -c nlu/constraints-rasa.txt
	@touch $(RASA_STAMP)

# What the tests drive besides Python: the Telegram Bot API emulator (npm) and a real browser.
test-tools: $(EMULATOR_STAMP) $(CHROMIUM)

$(EMULATOR_STAMP): $(TELEGRAM_EMULATOR)/package.json $(TELEGRAM_EMULATOR)/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 18+ (apt-get install nodejs npm) and retry."; exit 1; }
	npm ci --silent --no-audit --no-fund --prefix $(TELEGRAM_EMULATOR)
	@touch $(EMULATOR_STAMP)

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq chromium >/dev/null \
	  || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; \
	else echo "Chromium not found at $(CHROMIUM): run 'sudo apt-get install chromium' (or set CHROMIUM=/path/to/chromium)."; exit 1; fi

run: setup
	$(BIN)/relevo kb sync
	$(BIN)/relevo train
	$(BIN)/relevo up

test: setup test-tools
	$(BIN)/relevo train
	$(BIN)/pytest -q

bench: setup test-tools
	$(BIN)/relevo kb eval
	$(BIN)/relevo kb eval --queries kb/eval/heldout.yaml --models use-multilingual
	$(BIN)/relevo eval gate
	$(BIN)/relevo eval gate --queries kb/eval/heldout.yaml
	$(BIN)/python bench/kb_bench.py
	$(BIN)/relevo train
	$(BIN)/python bench/dialogue_bench.py
	$(BIN)/python bench/long_conversation.py
	$(BIN)/python bench/rasa_launcher_bench.py
	$(BIN)/python bench/gateway_bench.py
	$(BIN)/python bench/desk_bench.py
	$(BIN)/python bench/pii_eval.py
	$(BIN)/python bench/faults.py
	$(BIN)/python bench/load_soak.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf data models .pytest_cache .ruff_cache .mypy_cache
