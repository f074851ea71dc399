# Everything runs inside .venv, built from requirements.lock (the complete,
# pinned dependency closure).  `pip install --no-deps` keeps pip from
# re-resolving the fragile TF 2.12 / mesh-tensorflow stack.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# --no-compile: Python compiles what it imports, on first import, and keeps
# the compiled file (PYTHONDONTWRITEBYTECODE, where the environment sets it,
# is dropped for every command here: with it, a module without a compiled
# file is compiled again at every import, in every process); compiling
# every installed module (TensorFlow, torch, transformers) up front costs
# a minute of CPU per venv that the tests, running beside it, need.
unexport PYTHONDONTWRITEBYTECODE
PIP_FLAGS := --no-deps --no-compile --disable-pip-version-check -q
# The lock's torch is the CPU build (torch==2.13.0+cpu), which the package
# index does not have. The venv's pip installs it from the sources pip is
# configured with (find-links folders, index URLs) when one of them lists it;
# when none does, from PyPI's CPU wheel index as well (`TORCH_SOURCE`).
# Checked with pip's own finder (`pip index versions`) when the venv is
# built, one try and 10 s per source, so an unreachable index costs seconds;
# the fallback install tries twice, 30 s each. `make -n -B venv` shows the
# choice.
TORCH_PIN := $(shell grep -m1 '^torch==' requirements.lock)
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
TORCH_FOUND = $(shell $(PYTHON) -m pip index versions torch --retries 0 \
  --timeout 10 2>/dev/null | sed -n 's/^Available versions: //p' | \
  tr -s ', ' '\n\n' | grep -xF '$(patsubst torch==%,%,$(TORCH_PIN))')
TORCH_SOURCE = $(if $(TORCH_FOUND),,--extra-index-url $(TORCH_CPU_INDEX) \
  --retries 1 --timeout 30)
# Drop pip's notes about configured index folders that do not exist here.
QUIET_PIP := { grep -v "is ignored: it is neither a file nor a directory" || true; }

# The install smoke (tests/install_smoke.sh) checks that a plain
# `pip install` of the built wheel gives a working stack. It needs neither
# .venv nor Chromium, so `make test` starts it first, installs those two side
# by side meanwhile, then runs pytest; it fails if either fails.
SMOKE := tests/install_smoke.sh
# Where its venvs find torch 2.13.0: `TORCH_SOURCE`, unless given.
TORCH_PIP_ARGS ?= $(TORCH_SOURCE)
SMOKE_LOG := build/install-smoke.log

# The report tests drive Debian's headless Chromium; `make test` installs it
# when it is missing (apt-get, through sudo unless run as root).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# `make test-fast`: the tests that need no t5_mesh_transformer run, Beam job,
# browser or fresh venv (pytest.ini's markers), in under two minutes.
FAST := not slow and not binary and not beam and not browser and not venv

# `make test` runs pytest in two pytest-xdist workers, a test file per worker
# at a time, the files that share the demo's run first (tests/conftest.py).
XDIST := -n 2 --dist loadfile --no-loadscope-reorder

.PHONY: venv browser test test-fast install-smoke demo bench clean

venv: $(STAMP)

$(STAMP): requirements.lock setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	@echo "[wt5] installing the pinned environment into $(VENV) (first run only, ~2 min)"
	$(PY) -m pip install $(PIP_FLAGS) -r <(grep -vxF '$(TORCH_PIN)' requirements.lock) 2>&1 | $(QUIET_PIP)
	$(PY) -m pip install $(strip $(PIP_FLAGS) $(TORCH_SOURCE)) '$(TORCH_PIN)' 2>&1 | $(QUIET_PIP)
	$(PY) -m pip install $(PIP_FLAGS) -e . 2>&1 | $(QUIET_PIP)
	@touch $(STAMP)

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "[wt5] installing Debian's chromium for the report tests"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }

test:
	@mkdir -p build
	@echo "[wt5] install smoke started (log: $(SMOKE_LOG))"
	@PYTHON=$(PYTHON) TORCH_PIP_ARGS="$(TORCH_PIP_ARGS)" bash $(SMOKE) \
	  >$(SMOKE_LOG) 2>&1 & smoke=$$!; \
	$(MAKE) --no-print-directory -j2 browser venv && \
	$(PY) -m pytest tests -q -p no:cacheprovider $(XDIST) $(PYTEST_ARGS); tests=$$?; \
	wait $$smoke; smoke_rc=$$?; \
	echo "[wt5] install smoke:"; cat $(SMOKE_LOG); \
	if [ $$smoke_rc -ne 0 ]; then echo "[wt5] the install smoke FAILED"; fi; \
	[ $$tests -eq 0 ] && [ $$smoke_rc -eq 0 ]

test-fast: $(STAMP)
	$(PY) -m pytest tests -q -p no:cacheprovider -m "$(FAST)" $(PYTEST_ARGS)

install-smoke:
	PYTHON=$(PYTHON) TORCH_PIP_ARGS="$(TORCH_PIP_ARGS)" bash $(SMOKE)

demo: $(STAMP)
	$(VENV)/bin/wt5 demo $(DEMO_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/extractive_eval.py

clean:
	rm -rf $(VENV) build *.egg-info
