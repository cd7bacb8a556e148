# FieldOps: `make run` serves the app, `make test` runs the whole suite.
# Both create .venv and install what pyproject.toml lists the first time (and again
# whenever pyproject.toml changes).

PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test test-any-time lint i18n bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

run: $(STAMP)
	@$(BIN)/python -m server.cli serve

# Unit and API tests on two processes (pytest-xdist, one file per worker at a time, each
# worker with its own PostgreSQL database); the browser tests after them, one at a time.
TEST_WORKERS ?= 2
test: $(STAMP)
	@$(BIN)/ruff check server tests migrations bench scripts
	@$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile tests/unit tests/api
	@$(BIN)/python -m pytest tests/e2e

# No test may depend on the date it runs (issue 10): the unit and API tests once more with
# the clock of every process moved by faketime (Debian package `faketime`) to a Spring
# Festival night (2026-02-17 22:30 Shanghai) and to a 2027 weekday morning that
# chinesecalendar does not know (2027-03-15 10:00 Shanghai). Instants are UTC here. The
# shift is a relative offset, so the server processes some tests start agree on the time.
ANY_TIME_INSTANTS ?= 2026-02-17T14:30:00 2027-03-15T02:00:00
test-any-time: $(STAMP)
	@command -v faketime >/dev/null || { echo "faketime is not installed (apt-get install faketime)"; exit 1; }
	@for at in $(ANY_TIME_INSTANTS); do \
	  shift=$$(( $$(date -u -d "$$(echo $$at | tr T ' ')" +%s) - $$(date -u +%s) )); \
	  case $$shift in -*) ;; *) shift="+$$shift";; esac; \
	  echo "== unit and API tests at $$at UTC (faketime $$shift s)"; \
	  TZ=UTC faketime -f "$$shift" $(BIN)/python -m pytest tests/unit tests/api \
	    -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile || exit 1; \
	done

lint: $(STAMP)
	@$(BIN)/ruff check server tests migrations bench scripts

i18n: $(STAMP)
	@$(BIN)/python scripts/i18n.py update

bench: $(STAMP)
	@for f in bench/*.py; do case $$f in */loadkit.py|*/profile_server.py) continue;; esac; \
	  echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache test-artifacts
