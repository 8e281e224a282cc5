# The two commands a new user needs: `make run` and `make test`. Everything else builds on them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench eval lock clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

## run: set up, then start the embedded pipeline (Ctrl-C stops it)
run: $(STAMP)
	$(BIN)/socmon up $(ARGS)

## test: set up, then run the whole suite
test: $(STAMP)
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

## lint: ruff and mypy
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy socmon ingest stream_processors alerting dashboards

## bench: throughput numbers, written to bench/results.json
bench: $(STAMP)
	$(BIN)/python -m bench

## eval: classifier quality on the labelled development data, and the policy rules on our own cases
eval: $(STAMP)
	$(BIN)/python -m stream_processors.classify.evaluate --markdown
	$(BIN)/python -m stream_processors.classify.rules_eval --markdown

## lock: re-resolve requirements.lock from pyproject.toml (needs the registry)
lock:
	@test -x $(BIN)/uv || ($(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet uv)
	$(BIN)/uv pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o requirements.lock

clean:
	rm -rf $(VENV) .socmon .pytest_cache .mypy_cache .ruff_cache
