# The two commands of the README:
#   make demo   set up, then run perfloop on the bundled example (no LLM, no network after set-up)
#   make test   set up, then run the whole test suite
# (and for developers: make test-fast, the unit tests in a few minutes)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-fast lint setup

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

# The HTML report's test opens report.html in a real headless browser: Debian's chromium,
# driven by playwright (a dev dependency; it never downloads a browser of its own).
$(VENV)/.installed-browser: $(VENV)/.installed
	command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; } \
		|| echo "warning: could not install chromium; the HTML report's browser test will be skipped"
	touch $@

# The whole suite, on two processes: each test module runs whole on one of them, so a real
# run that several of its tests read is built once (tests/conftest.py puts the modules with
# long tests first). The tests marked `serial` (the hostile candidates, and timing verdicts
# with a thin margin) run alone afterwards. Each pass fails on any non-zero pytest exit,
# 5 (nothing collected) included; each lists its slowest tests at the end.
test: $(VENV)/.installed-llm $(VENV)/.installed-browser
	$(PY) -m pytest -n 2 --dist loadscope --no-loadscope-reorder -m "not serial" --durations=25
	$(PY) -m pytest -m serial --durations=5

# The developers' fast lane: the unit tests (no whole pipelines, no real workloads, no
# LLM), on two processes. CI runs everything through `make test`.
test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not slow and not llm" -n 2 --dist loadscope --no-loadscope-reorder -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
