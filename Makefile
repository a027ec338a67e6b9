# `make serve` runs Jeto; `make test` runs the tests. Both make the virtual environment on first use.
PYTHON ?= python3
# `make serve PORT=8123 HOST=0.0.0.0`: where the demo listens.
PORT ?= 8000
HOST ?= 127.0.0.1
VENV ?= .venv
BIN := $(VENV)/bin
ASSETS := jeto/graphiql/node_modules/graphiql/graphiql.min.js

.PHONY: serve test assets schema lint typecheck bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@

# GraphiQL's JavaScript comes from the npm registry at setup, so the page needs no CDN (nor internet) to load.
$(ASSETS): jeto/graphiql/package-lock.json
	npm ci --prefix jeto/graphiql --no-audit --no-fund --loglevel=error
	touch $@

assets: $(ASSETS)

serve: $(BIN)/.installed $(ASSETS)
	$(BIN)/jeto serve --demo --host $(HOST) --port $(PORT)

test: $(BIN)/.installed $(ASSETS)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

schema: $(BIN)/.installed
	$(BIN)/jeto export-schema

lint: $(BIN)/.installed
	$(BIN)/ruff check domain schema resolvers jeto marketo tests bench migrations
	$(BIN)/ruff format --check .

# mypy, strict, over domain/, marketo/ and the event bus ([tool.mypy] in pyproject.toml).
typecheck: $(BIN)/.installed
	$(BIN)/mypy

bench: $(BIN)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[test,bench]"
	$(BIN)/python bench/marketo_parallel.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/ingest.py  # PostgreSQL: JETO_BENCH_DATABASE_URL, else 127.0.0.1:5432
	$(BIN)/python bench/takeover.py
	$(BIN)/python bench/subscriptions.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/request_checks.py

clean:
	rm -rf $(VENV) .pytest_cache jeto.sqlite3* jeto/graphiql/node_modules
