# `make serve` runs Jeto; `make test` runs the tests. Both make the virtual environment on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve test schema bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@

serve: $(BIN)/.installed
	$(BIN)/jeto serve --demo

test: $(BIN)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

schema: $(BIN)/.installed
	$(BIN)/jeto export-schema

bench: $(BIN)/.installed
	$(BIN)/python bench/marketo_parallel.py

clean:
	rm -rf $(VENV) .pytest_cache jeto.sqlite3*
