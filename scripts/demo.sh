#!/usr/bin/env bash
# The demo: build the tiny dataset and plot what it made.
# (Generation with the shipped teacher and students replaces this once they are trained.)
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ditto2 data build --tiny
.venv/bin/ditto2 data show data/tiny -o out/demo-dataset.png
echo "demo: open out/demo-dataset.png"
