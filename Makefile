# The two commands a new user needs: `make run` and `make test`. Everything else builds on them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench eval encoder transformer lock clean
TORCH_WHEELS ?= /opt/wheels
TRANSFORMER_STAMP := $(VENV)/.transformer

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

## run: set up, then start the embedded pipeline (Ctrl-C stops it)
run: $(STAMP)
	$(BIN)/socmon up $(ARGS)

## test: set up, then run the whole suite, on every core (PYTEST_ARGS="-n 0" runs it in one process)
test: $(STAMP)
	$(BIN)/python -m pytest -n auto -ra --durations=20 $(PYTEST_ARGS)

## lint: ruff, mypy, and the layers of the code (import-linter: see docs/architecture.md)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy socmon socmon_app ingest stream_processors alerting dashboards tools bench

## bench: throughput numbers, written to bench/results.json
bench: $(STAMP)
	$(BIN)/python -m bench

## eval: the judgement model on the dev splits, the blind sets and the sample (eval/encoder.md);
## the fast models and the rules on our own cases (eval/results.md)
eval: $(STAMP)
	$(BIN)/python -m stream_processors.classify.training.evaluate_encoder --markdown
	$(BIN)/python -m stream_processors.classify.training.evaluate --markdown
	$(BIN)/python -m stream_processors.classify.training.rules_eval --markdown

## encoder: fine-tune the bundled judgement model again, as it was made (about 45 min on 2 cores;
## NHS Trust A is left out, so that its comments measure the model on a Trust it never saw)
encoder: $(TRANSFORMER_STAMP)
	$(BIN)/python -m stream_processors.classify.training.fine_tune --hold-out "Trust A" \
		--out stream_processors/classify/models/encoder

## transformer: add the training extra (PyTorch CPU from $(TORCH_WHEELS), transformers, onnx)
transformer: $(TRANSFORMER_STAMP)
$(TRANSFORMER_STAMP): $(STAMP) requirements-transformer.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --find-links $(TORCH_WHEELS) \
		-c requirements-transformer.lock -e '.[dev,transformer]'
	@touch $(TRANSFORMER_STAMP)

## lock: re-resolve requirements.lock from pyproject.toml (needs the registry)
lock:
	@test -x $(BIN)/uv || ($(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet uv)
	$(BIN)/uv pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o requirements.lock
	echo "torch==2.13.0+cpu" > $(VENV)/torch-cpu.txt
	$(BIN)/uv pip compile --quiet --python-version 3.11 --extra dev --extra transformer \
		--find-links $(TORCH_WHEELS) --override $(VENV)/torch-cpu.txt pyproject.toml \
		-o requirements-transformer.lock

clean:
	rm -rf $(VENV) .socmon .pytest_cache .mypy_cache .ruff_cache
