# The two commands of the README:
#   make demo   set up, then run perfloop on the bundled example (no LLM, no network after set-up)
#   make test   set up, then run the whole test suite
# (and for developers: make test-fast, the unit tests in a few minutes)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-312 test-fast lint setup

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The llm-marked tests need the openai client and llama-cpp-python with the SmolLM2 model.
# llama-cpp-python compiles from source: these options skip llama.cpp's tools, examples and
# common library (about 4 minutes on 2 cores instead of 18), and pip's wheel cache serves
# later installs in seconds.
LLAMA_CMAKE_ARGS := -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF \
	-DCMAKE_PROJECT_llama.cpp_INCLUDE=$(abspath ci/llama-minimal.cmake)

$(VENV)/.installed-llm: $(VENV)/.installed ci/llama-minimal.cmake
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install --quiet -e '.[dev,llm,local,server]'
	touch $@

setup: $(VENV)/.installed

demo: $(VENV)/.installed
	cd examples/shop && ../../$(VENV)/bin/perfloop optimize

# The Ray executor's test starts a real local Ray cluster (perfloop[ray], a wheel).
$(VENV)/.installed-ray: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[dev,ray]'
	touch $@

# The HTML report's test opens report.html in a real headless browser: Debian's chromium,
# driven by playwright (a dev dependency; it never downloads a browser of its own).
$(VENV)/.installed-browser: $(VENV)/.installed
	command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; } \
		|| echo "warning: could not install chromium; the HTML report's browser test will be skipped"
	touch $@

# The whole suite in two passes: every test not marked `serial` on two processes, each test
# module on one of them as a whole (its module-scoped fixtures built once; the long modules
# handed out first, see tests/conftest.py), then the `serial` ones alone, whose timing
# verdicts a neighbouring test's load could flip. From a clean clone on 6 December 2026:
# 2,220 tests in 35.1 minutes, then 40 in 1.2 (the serial run took 62-65 minutes).
# Either pass failing fails `make`, pytest's exit code 5 (nothing collected) too.
test: $(VENV)/.installed-llm $(VENV)/.installed-ray $(VENV)/.installed-browser
	$(PY) -m pytest -n 2 --dist loadscope --no-loadscope-reorder -m "not serial" --durations=25
	$(PY) -m pytest -m serial --durations=10
	@if [ -n "$(PYTHON312)" ]; then $(MAKE) --no-print-directory test-312; \
	else echo "no Python 3.12 found (python3.12, pyenv): its lane (make test-312) did not run"; fi

# Capture's sys.monitoring probes are Python 3.12+ code, and their tests skip on 3.11: they
# rotted unseen once. The capture tests run again on a 3.12 interpreter, where there is one
# (python3.12 on the PATH, else pyenv's; a pyenv shim of a version not selected fails).
PYTHON312 ?= $(shell for p in python3.12 $$(pyenv root 2>/dev/null)/versions/3.12*/bin/python3.12; \
	do $$p -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && echo $$p && break; done)
VENV312 ?= .venv312

$(VENV312)/.installed: pyproject.toml
	$(PYTHON312) -m venv $(VENV312)
	$(VENV312)/bin/python -m pip install --quiet --upgrade pip
	$(VENV312)/bin/python -m pip install --quiet -e '.[dev]'
	touch $@

test-312: $(VENV312)/.installed
	$(VENV312)/bin/python -m pytest -q -p no:cacheprovider tests/test_capture_probes.py \
		tests/test_capture_histories.py tests/test_capture.py tests/test_capture_distinct.py

# The developers' fast lane: the unit tests (no whole pipelines, no real workloads, no
# LLM), on two processes. CI runs everything through `make test`.
test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not slow and not llm" -n 2 -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
