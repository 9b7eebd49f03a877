# alphacut: `make demo` and `make test` work from a clean clone on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ALPHACUT := $(VENV)/bin/alphacut
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-unit model lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

model: setup
	$(ALPHACUT) models fetch

demo: model
	$(ALPHACUT) remove samples -o out --overwrite
	@echo "Cutouts written to $(CURDIR)/out/"

test: model
	$(PY) -m pytest -ra

test-unit: setup
	$(PY) -m pytest -ra tests/unit tests/test_public_api.py

lint: setup
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) out .pytest_cache
