# The two commands a newcomer needs: `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest install bench clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PY) not found)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## make run: demo app on SQLite, embedded queue, provider simulator, http://127.0.0.1:8000
run: $(STAMP)
	$(BIN)/myia demo --host 127.0.0.1 --port 8000

## make test: ruff + mypy + pytest with coverage (fails under 80 %)
test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# One pytest process per test folder, coverage appended: a crash or a hang names its folder.
TEST_GROUPS := $(wildcard tests/*/) $(wildcard tests/test_*.py)

pytest: $(STAMP)
	rm -f .coverage .coverage.*
	set -e; for group in $(TEST_GROUPS); do \
	  case $$group in tests/__pycache__/) continue;; esac; \
	  echo "== $$group"; $(BIN)/pytest --cov=myia --cov-append --cov-report= --cov-fail-under=0 -p no:cacheprovider $$group; \
	done
	$(BIN)/coverage report --fail-under=80 --skip-covered

bench: $(STAMP)
	$(BIN)/python bench/catalog_read.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage
