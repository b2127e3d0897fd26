# Two entry points a new user needs: `make demo` and `make test`. Each sets up the venv by itself.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.recgen-installed

.PHONY: demo test bench lint clean ui

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first and pinned, so the CPU build is used and no CUDA packages are pulled in
	$(BIN)/python -m pip install -q --disable-pip-version-check "torch==2.13.0"
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

# Debian's Chromium for the trace UI's browser tests (Playwright drives it; it never downloads a browser).
# Best effort: without root or a package mirror the browser tests skip and say why.
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	-@command -v apt-get >/dev/null && { apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }; } || \
	  echo "note: could not install Debian's chromium; the browser tests will be skipped"

demo: $(STAMP)
	$(BIN)/recgen demo

test: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/render.py

ui: $(STAMP)
	$(BIN)/recgen ui

lint: $(STAMP)
	$(BIN)/ruff check recgen tests benchmarks examples

clean:
	rm -rf $(VENV) runs .pytest_cache test-artifacts
