# Two commands for a new user: `make demo` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-faults lint bench sandbox serve clean

$(STAMP): pyproject.toml
	@$(PYTHON) scripts/check_python.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	@$(BIN)/firebreak demo

test: $(STAMP)
	@bash scripts/system-deps.sh
	@$(BIN)/python -m pytest -q -m "not faults" $(PYTEST_ARGS)

# Fault storms per service (429 with Retry-After, 5xx bursts, stalls, refused connections)
# through the real clients against the sandbox, on the playbook's virtual clock.
# And kill -9 of a playbook run at twenty instants, then resume: every side effect once.
test-faults: $(STAMP)
	@$(BIN)/python -m pytest -q -m faults $(PYTEST_ARGS)

lint: $(STAMP)
	@$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

sandbox: $(STAMP)
	@$(BIN)/firebreak sandbox

serve: $(STAMP)
	@$(BIN)/firebreak serve

clean:
	rm -rf $(VENV) .firebreak build *.egg-info
