#!/usr/bin/env bash
# The campaign's later best student (runs/ctd-f, step 10750: runs/models-h10750) on the fresh targets.
exec bash "$(dirname "$0")/bench-candidate.sh" runs/models-h10750 h5
