# Two commands on a fresh clone (Python 3.11+ and the package registries are all it needs):
#   make run    installs Convene into .venv and runs it on its embedded defaults
#   make test   installs the test tools and runs lint, type checks and the whole test suite

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint pytest fuzz bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Convene needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/convene run

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: $(VENV)/.test-installed
	$(BIN)/python -m pytest

test: lint pytest

# The fuzz suite with many more examples than CI's fast profile (a few minutes per store).
fuzz: $(VENV)/.test-installed
	CONVENE_FUZZ=long $(BIN)/python -m pytest tests/test_fuzz.py -p no:cacheprovider

bench: $(VENV)/.test-installed
	$(BIN)/python -m benchmarks.latency
	$(BIN)/python -m benchmarks.events --store sqlite
	$(BIN)/python -m benchmarks.events --store postgresql
	$(BIN)/python -m benchmarks.mentoring --store sqlite
	$(BIN)/python -m benchmarks.mentoring --store postgresql
	$(BIN)/python -m benchmarks.metrics --store sqlite
	$(BIN)/python -m benchmarks.metrics --store postgresql
	$(BIN)/python -m benchmarks.stop
	$(BIN)/python -m benchmarks.responsiveness --store sqlite
	$(BIN)/python -m benchmarks.responsiveness --store postgresql
	$(BIN)/python -m benchmarks.limits --store sqlite
	$(BIN)/python -m benchmarks.limits --store postgresql
	$(BIN)/python -m benchmarks.leases
	$(BIN)/python -m benchmarks.soak
	$(BIN)/python -m benchmarks.import_corpus
	$(BIN)/python -m benchmarks.hostile
	$(BIN)/python -m benchmarks.web --store sqlite
	$(BIN)/python -m benchmarks.web --store postgresql
	$(BIN)/python -m benchmarks.forge --store sqlite
	$(BIN)/python -m benchmarks.forge --store postgresql
	$(BIN)/python -m benchmarks.faq --faq ../shared/faq-eval/faq.toml --questions ../shared/faq-eval/dev.jsonl

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
