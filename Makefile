# Two entry points for a fresh clone: `make demo` and `make test`.
# Each creates .venv on first use and installs, editable, the bot with its dev
# extras and the simulator (sim/, a distribution of its own that the bot's
# wheel and image leave out).

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

$(STAMP): pyproject.toml sim/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e ./sim
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info sim/build sim/*.egg-info
