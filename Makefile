# fleetsim: the two commands of the Quick start are `make run` and `make test`.
# Everything is installed into .venv from the package registry; nothing else is assumed
# besides Python >= 3.11 and make.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "fleetsim needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/fleetsim network info
	$(BIN)/fleetsim network table --to Kangbashi
	$(BIN)/fleetsim run ordos-123

test: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks tools
	$(BIN)/python -m pytest -q
	$(BIN)/fleetsim check --quiet

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Jupyter on notebooks/, run from .venv: its "Python 3" kernel is the project's .venv.
# (Jupyter refuses to run as root unless told: containers and CI machines run as root.)
.PHONY: notebooks
notebooks: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,notebooks]'
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

lint: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks tools
	$(BIN)/ruff format --check sim tests benchmarks tools

clean:
	rm -rf $(VENV) results benchmarks/results .pytest_cache
