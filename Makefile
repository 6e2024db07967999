# eventpromo: `make run` serves the page and the worker; `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
EP     := $(VENV)/bin/eventpromo
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint bench install install-dev browser clean format

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(EP) db upgrade
	$(EP) user bootstrap
	$(EP) sync
	$(EP) serve --host $(HOST) --port $(PORT)

test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check service tests benchmarks scripts
	$(VENV)/bin/ruff format --check service tests benchmarks scripts
	$(VENV)/bin/mypy

format: install-dev
	$(VENV)/bin/ruff check --fix service tests benchmarks
	$(VENV)/bin/ruff format service tests benchmarks

bench: install-dev
	@set -e; for f in benchmarks/bench_*.py; do [ -e "$$f" ] || continue; echo "== $$f"; $(PY) $$f; done

# Debian's chromium for the Playwright browser tests (needs root; .ci/run calls it).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
