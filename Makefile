# Kraken: `make run` serves on port 3000 with embedded defaults; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint-imports services services-stop services-status venv node-deps tools bench clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

services: $(STAMP)
	@scripts/services.sh start

services-stop:
	@scripts/services.sh stop

services-status:
	@scripts/services.sh status

node-deps:
	@scripts/node-deps.sh

# helm and kubeconform for tests/deploy (the Helm chart), built once from their Go modules
tools:
	@scripts/tools.sh build

run: services
	@echo "Kraken on http://127.0.0.1:$${PORT:-3000}/api (Ctrl-C to stop)"
	$(VENV)/bin/flask --app wsgi kraken migrate
	exec $(VENV)/bin/gunicorn -c gunicorn.conf.py wsgi:app

test: services node-deps tools lint-imports
	KRAKEN_ENV=test $(VENV)/bin/pytest $(PYTEST_ARGS)

# The layers of docs/architecture.md and .importlinter: no cycle, no import against the layers.
lint-imports: $(STAMP)
	PYTHONPATH=. $(VENV)/bin/lint-imports

# Performance against baselines measured in the same run (bench/run.py; ~15 min, loopback only).
# `make bench ARGS=--quick` is a ~3-minute smoke run; `ARGS="--only fanout"` runs one workload.
bench: services
	@bench/install.sh
	$(PY) bench/run.py $(ARGS)

clean:
	rm -rf .data .pytest_cache
