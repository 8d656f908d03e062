# Two commands on a fresh machine with Python 3.11 and make:
#   make book   create .venv if missing, install, validate data, execute what changed, build _build/html
#   make test   same install, then the whole test suite (builds the site first if it is out of date)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2
# Seconds each notebook may run (empty: $$TRD_NOTEBOOK_TIMEOUT, else 300).
TIMEOUT ?=

.PHONY: install book validate test test-fast test-tools bench bench-analysis release lint clean serve

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

install: $(STAMP)

# Test-only browser tools from the npm registry (axe-core for the accessibility test), pinned in
# package.json and package-lock.json; installed here, never copied into the repository.
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

test-tools: $(AXE)

validate: install
	$(BIN)/python -m analysis validate

book: install
	$(BIN)/python -m analysis build --jobs $(JOBS) $(if $(TIMEOUT),--timeout $(TIMEOUT))

test: book $(AXE)
	$(BIN)/python -m pytest

# Unit tests only (no book build, no browser, no integration builds).
test-fast: install
	$(BIN)/python -m pytest -m "not integration and not browser"

bench: install
	$(BIN)/python benchmarks/bench_build.py
	$(BIN)/python benchmarks/bench_analysis.py

release: install
	$(BIN)/python -m analysis release

lint: install
	$(BIN)/ruff check analysis tests benchmarks

# _build/html is a symbolic link to the published version; the server follows it per request.
serve:
	@echo "Serving _build/html on http://127.0.0.1:8000 (Ctrl-C to stop)"
	$(BIN)/python -m http.server --directory _build/html --bind 127.0.0.1 8000

clean:
	rm -rf _build
