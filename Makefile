# The two commands a newcomer needs: `make run` and `make test`.
# PY: the newest python3.1x (x >= 11) on PATH that runs, unless given (`PY=python3.13 make test`).
PY_CANDIDATES := $(foreach x,19 18 17 16 15 14 13 12 11,python3.$(x)) python3
PY_OK := -c 'import sys; sys.exit(sys.version_info < (3, 11))'
# $(call py_find,python3.N): python3.N if it runs and is >= 3.11. A pyenv shim fails when its
# version is installed but not selected; then take pyenv's newest installed 3.N.x interpreter.
py_find = $(shell if $(1) $(PY_OK) >/dev/null 2>&1; then echo $(1); \
	elif command -v pyenv >/dev/null 2>&1 && command -v $(1) >/dev/null 2>&1; then \
	  root=$$(pyenv root); name=$(notdir $(1)); ver=$${name#python}; \
	  last=$$(ls "$$root/versions" | grep -x "$$ver\.[0-9]*" | sort -V | tail -n 1); \
	  [ -n "$$last" ] && "$$root/versions/$$last/bin/$$name" $(PY_OK) >/dev/null 2>&1 \
	    && echo "$$root/versions/$$last/bin/$$name"; fi)
ifeq ($(origin PY),undefined)
PY := $(firstword $(foreach py,$(PY_CANDIDATES),$(call py_find,$(py))))
else
override PY := $(or $(call py_find,$(PY)),$(PY))
endif
PYVER := $(shell $(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
VENV ?= .venv
BIN := $(VENV)/bin
# One stamp per Python version: changing PY rebuilds the venv with that interpreter.
STAMP := $(VENV)/.installed-$(PYVER)

# System packages the test command needs (command -> Debian package): pg_dump/psql for the
# backup and restore tests; initdb/pg_ctl (PostgreSQL's server binaries, for the throwaway
# clusters of tests/faults); redis-server (Redis servers of the tests' own); chromium (the
# browser tests); node/npm (tests/clients run openai-node and the Vercel AI SDK); jq and curl
# (docs/ examples, run by tests/docs). Debian puts the server binaries in
# /usr/lib/postgresql/<version>/bin, off PATH: a command is also looked for in PG_BINDIRS.
PREREQS := pg_dump:postgresql-client psql:postgresql-client initdb:postgresql \
	pg_ctl:postgresql redis-server:redis-server chromium:chromium node:nodejs npm:npm jq:jq \
	curl:curl
PG_BINDIRS ?= /usr/lib/postgresql/*/bin
# Shell: sets $missing (the Debian packages of the commands not found) and $why.
FIND_MISSING = missing=""; why=""; for pair in $(PREREQS); do cmd=$${pair%%:*}; \
	  pkg=$${pair\#*:}; command -v $$cmd >/dev/null 2>&1 && continue; \
	  for dir in $(PG_BINDIRS); do [ -x "$$dir/$$cmd" ] && continue 2; done; \
	  why="$$why $$cmd"; case " $$missing " in *" $$pkg "*) ;; *) missing="$$missing $$pkg";; \
	  esac; done

.PHONY: run test lint typecheck pytest install bench clean prereqs missing-packages

$(STAMP): pyproject.toml
	@test -n "$(PY)" -a -n "$(PYVER)" || { echo "Python >= 3.11 is required: none of \
	python3.11 .. python3.19 runs here (or PY=$(PY) does not); install one or set PY="; exit 1; }
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	echo "$(PY) is Python $(PYVER); MyIA needs >= 3.11"; exit 1; }
	@$(PY) -c 'import ensurepip, venv' >/dev/null 2>&1 || { echo "$(PY) cannot create a \
	virtual environment (no ensurepip): Debian/Ubuntu: sudo apt-get install python$(PYVER)-venv"; \
	exit 1; }
	@if [ -x $(BIN)/python ] && [ "$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "$(PYVER)" ]; then \
	  echo "$(VENV) is another Python's: rebuilding it with $(PY)"; $(PY) -m venv --clear $(VENV); \
	else $(PY) -m venv $(VENV); fi
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## make run: demo app on SQLite, embedded queue, provider simulator, http://127.0.0.1:8000
run: $(STAMP)
	$(BIN)/myia demo --host 127.0.0.1 --port 8000

## make test: ruff + mypy + pytest with coverage (fails under 80 %)
test: prereqs $(STAMP) lint typecheck pytest

## make prereqs: say which system package the tests need is missing, before anything runs
prereqs:
	@$(FIND_MISSING); \
	if [ -n "$$missing" ]; then \
	  echo "make test needs these system packages, missing here:$$missing"; \
	  echo "  (commands not found:$$why)"; \
	  echo "  Debian/Ubuntu: sudo apt-get install$$missing"; exit 1; \
	fi

# The Debian packages `make prereqs` finds missing, space-separated (.ci/run installs them).
missing-packages:
	@$(FIND_MISSING); echo $$missing

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# pytest, in two runs with coverage appended: every folder of tests/ but SLOW_IO_TESTS on
# PYTEST_WORKERS pytest-xdist workers (each worker is a session of its own, with its own
# template databases and Redis database: tests/conftest.py); then SLOW_IO_TESTS on 2 workers,
# apart from the rest: tests/faults kill and restart servers under deadlines, tests/e2e share
# one `myia demo` and a browser (one worker takes them all: --dist loadgroup). xdist names the
# test a crashed worker was running; a hung test dumps every stack after faulthandler_timeout
# (pyproject.toml). 3 workers on 2 cores: much of the suite waits on servers and processes.
# PYTEST_ARGS adds options to both runs (PYTEST_ARGS=--durations=10).
PYTEST_WORKERS ?= 3
SLOW_IO_TESTS := tests/faults tests/e2e
PYTEST := $(BIN)/pytest -p no:cacheprovider --cov=myia --cov-append --cov-report= \
	--cov-fail-under=0 $(PYTEST_ARGS)

pytest: prereqs $(STAMP)
	rm -f .coverage .coverage.*
	@echo "== tests/ less $(SLOW_IO_TESTS), on $(PYTEST_WORKERS) workers"
	$(PYTEST) -n $(PYTEST_WORKERS) --dist worksteal $(addprefix --ignore=,$(SLOW_IO_TESTS)) tests
	@echo "== $(SLOW_IO_TESTS), on 2 workers"
	$(PYTEST) -n 2 --dist loadgroup $(SLOW_IO_TESTS)
	$(BIN)/coverage report --fail-under=80 --skip-covered

bench: $(STAMP)
	$(BIN)/python bench/catalog_read.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage
