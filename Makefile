# alphacut: `make demo` and `make test` work from a clean clone on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ALPHACUT := $(VENV)/bin/alphacut
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-unit model lint clean test-deps docs

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

model: setup
	$(ALPHACUT) models fetch
	$(ALPHACUT) models fetch mediapipe-face-landmark  # the id-photo presets' chin and eyes (docs/ID_PHOTOS.md)
	$(ALPHACUT) models fetch mediapipe-face-detection-full  # the id-photo presets' face detector (BlazeFace)

demo: model
	$(ALPHACUT) remove samples -o out --overwrite
	@echo "Cutouts written to $(CURDIR)/out/"

test: model web browser-deps test-deps
	$(PY) -m pytest -ra

test-unit: setup
	$(PY) -m pytest -ra tests/unit tests/test_public_api.py

# strace for tests/unit/package/test_no_telemetry.py (no socket but loopback; needs root, as in CI); skipped when present.
test-deps:
	@command -v strace >/dev/null 2>&1 || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y strace)

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

# docs/OPTIONS.md and docs/CLI.md are generated from the option table and the commands' --help
# (tests/unit/options/test_options_doc.py fails when they are stale).
docs: setup
	$(PY) -m alphacut.options_doc > docs/OPTIONS.md
	$(PY) -m alphacut.options_doc --cli > docs/CLI.md

clean:
	rm -rf $(VENV) out .pytest_cache

# ------------------------------------------------------------------ web page and browser tests
# `web` builds the page (web/ → src/alphacut/web) and vendors onnxruntime-web's WASM and
# swagger-ui next to it. --ignore-scripts: no package install script runs (one would phone home).
NPM ?= npm
WEB_BUILT := src/alphacut/web/vendor/ort/VERSION
WEB_SOURCES := web/package.json web/package-lock.json web/index.html web/scripts/build.mjs \
	web/scripts/copy-vendor.mjs $(wildcard web/src/*)

.PHONY: web browser-deps test-browser

web: $(WEB_BUILT)

$(WEB_BUILT): $(WEB_SOURCES)
	cd web && $(NPM) ci --ignore-scripts --no-audit --no-fund && $(NPM) run build

# node/npm and Debian's chromium for tests/browser (needs root, as in CI); skipped when present.
browser-deps:
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm)
	@test -x /usr/bin/chromium || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

test-browser: setup browser-deps web
	$(PY) -m pytest -ra -m browser tests/browser
