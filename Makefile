# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install bytecode demo test lint typecheck layers unit bench clean

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
	$(BIN)/ruff check src tests bench examples

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

test: lint typecheck layers bytecode
	$(BIN)/pytest -n 2 -q

bench: bytecode
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) examples/quickstart/.headrace .pytest_cache .mypy_cache .ruff_cache
