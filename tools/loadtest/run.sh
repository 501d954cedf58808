#!/usr/bin/env bash
# The load test under its old name: see loadtest.sh and README.md.
# Usage: tools/loadtest/run.sh [seconds] [connections]
SECS=${1:-${SECS:-10}} CONNS=${2:-${CONNS:-64}} exec "$(dirname "$0")/loadtest.sh"
