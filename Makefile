# Quick start: `make demo` (generate music with the shipped models) and `make test`.
# Both run the idempotent set-up first.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.setup-stamp

.PHONY: setup test demo studio data-tiny data-full clean-data eval-env

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	touch $(STAMP)

test: setup
	$(PY) -m pytest

demo: setup
	bash scripts/demo.sh

# The web studio on http://127.0.0.1:7860 (docs/studio.md); Ctrl-C stops it.
studio: setup
	$(VENV)/bin/ditto2 studio

data-tiny: setup
	$(VENV)/bin/ditto2 data build --tiny

data-full: setup
	$(VENV)/bin/ditto2 data build

clean-data:
	rm -rf data/tiny

# musicnn (the FAD embedding) needs TensorFlow 2.15 and numpy<2, so it gets a venv of its own that
# ditto2 calls through a subprocess (src/ditto2/eval/musicnn.py). About 1.7 GB; made once, on demand.
# TF 2.15.1 has wheels for Python 3.9-3.11 only: set TF_PYTHON to such an interpreter if python3 is newer.
TF_VENV   := .venv-tf
TF_PYTHON ?= python3

eval-env: $(TF_VENV)/.eval-env-stamp

$(TF_VENV)/.eval-env-stamp:
	$(TF_PYTHON) -m venv $(TF_VENV)
	$(TF_VENV)/bin/pip install "tensorflow-cpu==2.15.1" "numpy<2" librosa soundfile
	$(TF_VENV)/bin/pip install --no-deps musicnn==0.1.0
	$(TF_VENV)/bin/python -c "import musicnn, tensorflow, numpy; assert numpy.__version__ < '2'"
	touch $@
