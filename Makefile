# Quick start: `make demo` (generate music with the shipped models) and `make test`.
# Both run the idempotent set-up first.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.setup-stamp

.PHONY: setup test demo data-tiny data-full clean-data

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	touch $(STAMP)

test: setup
	$(PY) -m pytest

demo: setup
	bash scripts/demo.sh

data-tiny: setup
	$(VENV)/bin/ditto2 data build --tiny

data-full: setup
	$(VENV)/bin/ditto2 data build

clean-data:
	rm -rf data/tiny
