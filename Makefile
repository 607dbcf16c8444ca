# Two entry points for a fresh clone: `make demo` and `make test`.
# Each creates .venv and installs the package with its dev extras on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench sim clean

demo: $(STAMP)
	$(BIN)/k8s-chatops demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench.run

sim: $(STAMP)
	$(BIN)/k8s-chatops sim --scenario zonal-shortfall --state-dir .k8s-chatops-sim

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
