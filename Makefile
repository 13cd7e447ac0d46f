# The two quick-start commands: `make smoke` (the offline main job) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: smoke test install install-dev bench

$(VENV)/.installed: pyproject.toml constraints.txt scripts/setup.sh
	bash scripts/setup.sh
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	bash scripts/setup.sh dev
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

smoke: $(VENV)/.installed
	$(PY) -m qwen_vad.pipeline exp=smoke

test: $(VENV)/.installed-dev
	$(PY) -m pytest

bench: $(VENV)/.installed-dev
	$(PY) -m benchmarks
