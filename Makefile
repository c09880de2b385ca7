# Portal AGEPAR — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
# `make test` runs the suite on SQLite and, when DATABASE_URL points at PostgreSQL, there too.
PG_URL := $(filter postgres%,$(DATABASE_URL))

.PHONY: run test test-sqlite test-postgres install install-dev lint lock migrate messages bench clean

# Installs come from the locks only, every file checked against its hash (README "Dependencies").
$(VENV)/.installed: requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.lock
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

## lock: after editing requirements*.txt, re-resolve requirements*.lock with hashes (pip-tools)
LOCK := $(PY) -m piptools compile --generate-hashes --allow-unsafe --strip-extras --no-header \
	--no-emit-index-url --no-emit-find-links --quiet
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet pip-tools==7.6.2
	$(LOCK) -o requirements.lock requirements.txt
	$(LOCK) -o requirements-dev.lock requirements-dev.txt

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: install, migrate, create roles + demo admin, start web server and task worker (DEBUG, SQLite)
run: install
	env -u DATABASE_URL DEBUG=1 PORT=$(PORT) PY=$(PY) bash deploy/run-dev.sh

## test: the whole suite on SQLite, then on PostgreSQL if DATABASE_URL points at one
test: install-dev
	env -u DATABASE_URL $(PY) -m pytest $(PYTEST_ARGS)
ifneq ($(PG_URL),)
	DATABASE_URL=$(PG_URL) $(PY) -m pytest $(PYTEST_ARGS)
endif

test-sqlite: install-dev
	env -u DATABASE_URL $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: install-dev
	DATABASE_URL=$${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/agepar} $(PY) -m pytest $(PYTEST_ARGS)

## bench: benchmarks at 1M rows on PostgreSQL (BENCH_DATABASE_URL is DROPPED and re-created; BENCH_ARGS=--quick)
bench: install-dev
	command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	BENCH_DATABASE_URL=$${BENCH_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/agepar_bench} $(PY) bench/run.py $(BENCH_ARGS)

## messages: recompile locale/pt_BR (the .mo is committed; needs gettext's msgfmt)
messages:
	msgfmt --check-format -o locale/pt_BR/LC_MESSAGES/django.mo locale/pt_BR/LC_MESSAGES/django.po

## lint: ruff, then mypy on the product packages (django-stubs, djangorestframework-stubs; [tool.mypy] in pyproject.toml)
lint: install-dev
	$(PY) -m ruff check .
	$(PY) -m mypy

migrate: install
	$(PY) manage.py migrate --noinput

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
