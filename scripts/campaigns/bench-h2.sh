#!/usr/bin/env bash
# The campaign's best student (runs/ctd-f, step 8625: runs/models-h8625) on the fresh targets with today's defaults.
exec bash "$(dirname "$0")/bench-candidate.sh" runs/models-h8625 h2
