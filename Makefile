# railyard on a CPU machine. The README's two commands: `make serve` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
STAMP  := $(VENV)/.railyard-installed
# pip's find-links (where this machine keeps its local torch CPU wheel), passed on to uv.
FIND_LINKS ?= $(shell pip config get global.find-links 2>/dev/null)
UV_FLAGS := --python $(BIN)/python $(if $(FIND_LINKS),--find-links $(FIND_LINKS))
PYTEST_ARGS ?=

.PHONY: install serve test lint format lock clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints/cpu.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(UV) || $(BIN)/python -m pip install -q uv==0.13.8
	# torch first, from the local CPU wheel: any other torch spec pulls GBs of CUDA.
	$(UV) pip install $(UV_FLAGS) "torch==2.13.0"
	$(UV) pip install $(UV_FLAGS) -c constraints/cpu.txt -e ".[cpu,lab,dev]"
	# PyPI's torchvision/torchaudio/torchcodec/triton are CUDA builds; with them vLLM fails to import.
	$(UV) pip uninstall --python $(BIN)/python torchvision torchaudio torchcodec triton 2>/dev/null || true
	touch $(STAMP)

# Indexes the sample knowledge base on first start (when the index is empty).
KNOWLEDGE_BASE ?= examples/knowledge-base

serve: install
	RAILYARD_KNOWLEDGE_BASE='["$(KNOWLEDGE_BASE)"]' $(BIN)/railyard serve

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-pin the CPU stack after changing dependencies in pyproject.toml.
lock:
	$(UV) pip install $(UV_FLAGS) -e ".[cpu,lab,dev]"
	$(UV) pip uninstall --python $(BIN)/python torchvision torchaudio torchcodec triton 2>/dev/null || true
	{ echo "# Versions resolved and tested together on the CPU stack (python 3.11, torch 2.13.0+cpu)."; \
	  echo "# Regenerate with: make lock"; \
	  $(UV) pip freeze --python $(BIN)/python | grep -vE '^(railyard|torch|pip|uv)==|^-e '; } > constraints/cpu.txt

clean:
	rm -rf $(VENV) .railyard .railyard-test
