# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install bytecode demo test lint typecheck layers unit bench docs docs-serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Compiled bytecode for our sources, as a regular install would have: where
# PYTHONDONTWRITEBYTECODE is set, Python would otherwise recompile them on every start
# (about 100 ms). Only changed files are recompiled.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q src >/dev/null

demo: bytecode
	cd examples/quickstart && ../../$(BIN)/headrace init && ../../$(BIN)/python run.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples scripts

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

test: lint typecheck layers bytecode docs
	$(BIN)/pytest -n 2 -q

# The documentation site, built into site/. Strict: a broken link, a page missing from
# the navigation or a public name missing from the API reference fails the build.
# (No --quiet: it hides the warnings that --strict counts, and the build would pass.)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

bench: bytecode
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) site examples/quickstart/.headrace .pytest_cache .mypy_cache .ruff_cache
