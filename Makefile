# Two commands for a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PRAKERJA_DATABASE_URL ?= sqlite:///./var/demo.db

.PHONY: demo test bench lint schema install serve clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

# axe-core for the accessibility tests (runs inside the test browser, never served to users)
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --ignore-scripts && touch $@; \
	else echo "npm not found: the accessibility tests will skip (CI=true fails them)"; fi

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/prakerja demo --serve

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

# Rewrite the single pre-release migration from the models (developers only).
schema: $(STAMP)
	$(BIN)/python -c "from pathlib import Path; from prakerja.kit import migrate; migrate.regenerate_initial(Path('var/schema'))"
	$(BIN)/ruff format -q src/prakerja/migrations/versions; $(BIN)/ruff check --fix -q src/prakerja/migrations/versions; $(BIN)/ruff format -q src/prakerja/migrations/versions

clean:
	rm -rf var .pytest_cache
