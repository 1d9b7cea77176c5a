# The README's two set-up commands: `make demo` and `make test`. Both bootstrap .venv themselves.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# A CPU wheel of this torch lies on the build machines; installing it first keeps pip from
# resolving an unpinned torch to a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0
STAMP := $(VENV)/.qattn-installed
PYTEST_ARGS ?=

.PHONY: demo test bench lint venv clean tutorials docker docker-test

venv: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "$(TORCH_PIN)"
	$(PIP) install --quiet -e ".[dev,mitiq,resources,interop]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/qattn demo

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check qiskit_qattn tests benchmarks tutorials
	$(VENV)/bin/hadolint Dockerfile

tutorials: $(STAMP)
	$(PY) -m pytest tests/tutorials -q

bench: $(STAMP)
	$(PIP) install --quiet -e ".[dev,mitiq,resources,interop,bench]"
	$(PY) benchmarks/run_all.py

docker:
	docker build --target runtime -t qiskit-qattn .

docker-test:
	docker build --target dev -t qiskit-qattn-dev . && docker run --rm qiskit-qattn-dev

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
