# Two commands for a new user: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip -q --disable-pip-version-check

.PHONY: run lan serve test install install-dev migrate demo lint format bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt $(VENV)/.installed
	$(PIP) install -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo_study

## Install, migrate SQLite, load the demo study and serve on http://127.0.0.1:8000
run: demo
	$(PY) manage.py runserver 127.0.0.1:8000

## The same, served to the lab network over HTTPS for tablets: https://<this computer's
## LAN address>:8443/ (README, "Tablets on the lab network"). LAN_PORT and LAN_ADDRESS
## (comma-separated) override what it finds; the certificate is kept in .lan/.
LAN_PORT ?= 8443
LAN_ADDRESS ?=
lan: demo
	$(PY) manage.py serve_lan --port $(LAN_PORT) --address "$(LAN_ADDRESS)"

## The whole test suite: lint, pytest (browser tests need /usr/bin/chromium), then the
## migration tests (files test_*_migration.py, only those collected) on a database the
## migrations built
test: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest -n 2
	$(VENV)/bin/pytest --migrations -m migrations -o python_files='test_*_migration.py'

lint: install-dev
	$(VENV)/bin/ruff check .

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Benchmarks under bench/, results in bench/RESULTS.md (not part of `make test`)
bench: install-dev
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
