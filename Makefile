# FieldOps: `make run` serves the app, `make test` runs the whole suite.
# Both create .venv and install what pyproject.toml lists the first time (and again
# whenever pyproject.toml changes).

PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint i18n bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

run: $(STAMP)
	@$(BIN)/python -m server.cli serve

test: $(STAMP)
	@$(BIN)/ruff check server tests migrations bench scripts
	@$(BIN)/python -m pytest

lint: $(STAMP)
	@$(BIN)/ruff check server tests migrations bench scripts

i18n: $(STAMP)
	@$(BIN)/python scripts/i18n.py update

bench: $(STAMP)
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f; done

clean:
	rm -rf $(VENV) var .pytest_cache test-artifacts
