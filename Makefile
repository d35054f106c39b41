# The two commands: `make run` (set up and start the demo) and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1:8000

.PHONY: run test lint setup demo audit

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(VENV)/.installed

demo: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo_setup --address $(HOST)

# The task worker (emails, webhooks) runs beside the server and stops with it.
run: demo
	$(PY) manage.py db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

test: lint
	$(VENV)/bin/pytest

# The benchmark: `make bench CASES=100000` seeds PostgreSQL (bench_<cases>), starts
# gunicorn and writes bench/results/<cases>.md, .json and p50.png.
CASES ?= 10000
.PHONY: bench
bench: setup
	$(PY) -m bench --cases $(CASES)

# Known vulnerabilities in the pinned dependencies; needs the network (not run in CI).
audit: setup
	$(VENV)/bin/pip-audit --skip-editable
