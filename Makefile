# The front door: `make run` sets everything up, loads the sample data and serves; `make test` tests.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export MATCHMAKER_HOME ?= $(CURDIR)/var

.PHONY: install chromium run test test-fast bench lint load-sample clean

$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# torch first, pinned: the local CPU wheel (otherwise pip pulls gigabytes of CUDA packages)
	$(PY) -m pip install torch==2.13.0
	# every other package at the version the benchmarks were measured with (constraints.txt)
	$(PY) -m pip install -c constraints.txt -e '.[dev]'
	$(VENV)/bin/matchmaker model build
	touch $@

install: $(VENV)/.installed

# Debian's chromium for the browser tests (Playwright drives it; its own browser downloads are never used).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo -n)
chromium:
	@command -v chromium >/dev/null || { echo "installing Debian's chromium for the browser tests"; \
	  { $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium || { $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }; } >/dev/null 2>&1 \
	  || echo "could not install chromium: the browser tests will skip"; }

load-sample: install
	$(VENV)/bin/matchmaker import suppliers data/suppliers.jsonl
	$(VENV)/bin/matchmaker import needs data/needs.jsonl

run: load-sample
	$(VENV)/bin/matchmaker serve

test: install chromium
	$(VENV)/bin/pytest -q -ra

test-fast: install
	$(VENV)/bin/pytest -q -m "not model"

bench: install
	$(VENV)/bin/matchmaker bench model
	$(VENV)/bin/matchmaker bench sample
	$(VENV)/bin/matchmaker bench marks --sample
	$(VENV)/bin/matchmaker bench quality
	$(VENV)/bin/matchmaker bench cpv
	$(VENV)/bin/matchmaker bench similar
	$(VENV)/bin/matchmaker bench speed --quick
	$(VENV)/bin/matchmaker bench load
	$(VENV)/bin/matchmaker bench fleet --quick
	$(VENV)/bin/matchmaker bench alerts --quick

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy matcher indexer store service api

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
